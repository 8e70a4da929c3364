// Progressive enhancement: a "Copy" button for text shown once (a new API key).
// Without JavaScript the button stays hidden and the text is plain, selectable HTML.
document.querySelectorAll("[data-copy]").forEach((button) => {
  const target = document.getElementById(button.dataset.copy);
  if (!target || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(target.textContent.trim());
    button.textContent = "Copied";
  });
});
