//! `/docs`: the API reference as one server-rendered page, made from the same OpenAPI
//! document `/openapi.json` serves (so it cannot drift from it): every operation by tag, with
//! its method, path, summary, parameters, request body and answers. Plain HTML styled by the
//! site's stylesheet: no script, no CDN.
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The value at a JSON pointer, or null.
fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value.pointer(pointer).unwrap_or(&Value::Null)
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    at(value, pointer).as_str().unwrap_or("")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The last part of a `$ref` (`#/components/schemas/Workspace` → `Workspace`).
fn schema_name(schema: &Value) -> Option<String> {
    at(schema, "/$ref")
        .as_str()
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_owned)
}

fn operation(method: &str, path: &str, op: &Value, prefix: &str) -> String {
    let id = text(op, "/operationId");
    let mut html = format!(
        "<section class=\"operation\" id=\"{id}\"><h3><code class=\"method\">{}</code> <code>{}{}</code></h3><p>{}</p>",
        method.to_uppercase(),
        escape(prefix),
        escape(path),
        escape(text(op, "/summary"))
    );
    let description = text(op, "/description");
    if !description.is_empty() {
        html.push_str(&format!("<p class=\"muted\">{}</p>", escape(description)));
    }
    if let Some(params) = at(op, "/parameters").as_array().filter(|p| !p.is_empty()) {
        html.push_str("<table class=\"stack\"><thead><tr><th>Parameter</th><th>In</th><th>About</th></tr></thead><tbody>");
        for p in params {
            html.push_str(&format!(
                "<tr><td data-label=\"Parameter\"><code>{}</code>{}</td><td data-label=\"In\">{}</td><td data-label=\"About\">{}</td></tr>",
                escape(text(p, "/name")),
                if at(p, "/required") == true { " (required)" } else { "" },
                escape(text(p, "/in")),
                escape(text(p, "/description"))
            ));
        }
        html.push_str("</tbody></table>");
    }
    if let Some(body) = schema_name(at(op, "/requestBody/content/application~1json/schema")) {
        html.push_str(&format!(
            "<p>Body: JSON, <a href=\"#schema-{0}\"><code>{0}</code></a></p>",
            escape(&body)
        ));
    }
    html.push_str("<ul class=\"answers\">");
    if let Some(responses) = at(op, "/responses").as_object() {
        for (status, response) in responses {
            let schema = schema_name(at(response, "/content/application~1json/schema"))
                .map(|s| {
                    format!(
                        " — <a href=\"#schema-{0}\"><code>{0}</code></a>",
                        escape(&s)
                    )
                })
                .unwrap_or_default();
            html.push_str(&format!(
                "<li><code>{}</code> {}{schema}</li>",
                escape(status),
                escape(text(response, "/description"))
            ));
        }
    }
    html.push_str("</ul></section>");
    html
}

/// The reference page for `doc`.
pub fn render(doc: &Value) -> String {
    let mut by_tag: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    if let Some(paths) = at(doc, "/paths").as_object() {
        for (path, item) in paths {
            let prefix = if item.get("servers").is_some() {
                ""
            } else {
                "/api/v1"
            };
            let Some(methods) = item.as_object() else {
                continue;
            };
            for (method, op) in methods {
                if method == "servers" {
                    continue;
                }
                let tag = at(op, "/tags/0").as_str().unwrap_or("api").to_owned();
                by_tag
                    .entry(tag)
                    .or_default()
                    .push(operation(method, path, op, prefix));
            }
        }
    }
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>API reference · Terminus Hub</title><link rel=\"stylesheet\" href=\"/style/main.css\"></head><body><main class=\"page docs\"><h1>Terminus Hub API reference</h1>",
    );
    html.push_str(&format!(
        "<p>{}</p><p>The same as <a href=\"/openapi.json\">OpenAPI 3.1</a>.</p><nav aria-label=\"Sections\"><ul>",
        escape(text(doc, "/info/description"))
    ));
    for tag in by_tag.keys() {
        html.push_str(&format!(
            "<li><a href=\"#tag-{0}\">{0}</a></li>",
            escape(tag)
        ));
    }
    html.push_str("</ul></nav>");
    for (tag, ops) in &by_tag {
        html.push_str(&format!("<h2 id=\"tag-{0}\">{0}</h2>", escape(tag)));
        for op in ops {
            html.push_str(op);
        }
    }
    html.push_str("<h2 id=\"schemas\">Objects</h2>");
    if let Some(schemas) = at(doc, "/components/schemas").as_object() {
        for (name, schema) in schemas {
            let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
            html.push_str(&format!(
                "<section id=\"schema-{0}\"><h3><code>{0}</code></h3><pre><code>{1}</code></pre></section>",
                escape(name),
                escape(&pretty)
            ));
        }
    }
    html.push_str("</main></body></html>");
    html
}

/// `GET /docs`: the page, rendered once.
pub async fn serve() -> Response {
    static PAGE: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| render(super::openapi::document()));
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE.as_str(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_and_object_is_on_the_page_escaped() {
        let doc = super::super::openapi::document();
        let page = super::render(doc);
        for (method, path) in super::super::ROUTES {
            assert!(
                page.contains(&format!(
                    "<code class=\"method\">{}</code> <code>/api/v1{}</code>",
                    method.to_uppercase(),
                    path
                )),
                "{method} {path}"
            );
        }
        assert!(page.contains("id=\"schema-Workspace\""));
        assert!(!page.contains("<script"));
        assert_eq!(super::escape("<a \"b\">&"), "&lt;a &quot;b&quot;&gt;&amp;");
    }
}
