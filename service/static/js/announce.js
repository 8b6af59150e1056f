/* Messages for screen readers, through the page's polite live region (#announcer). */

export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  // a new text node, so screen readers announce the same message again
  requestAnimationFrame(() => {
    region.textContent = text;
  });
}
