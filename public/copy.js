// Progressive enhancement: "Copy" buttons (a new API key, a TXT record, an id). Each names
// the element whose text it copies in data-copy. Without JavaScript the button stays hidden
// and the text is plain, selectable HTML.
document.querySelectorAll("[data-copy]").forEach((button) => {
  const target = document.getElementById(button.dataset.copy);
  if (!target || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(target.textContent.trim());
    button.textContent = "Copied";
  });
});
