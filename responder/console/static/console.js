// The console's own script: the menu button on narrow screens, and an Undo button that
// goes away after a few seconds. Everything else is htmx.
// Loaded with "defer", so the page is parsed when this runs: the menu button works from the
// moment the "js" class shows it.
(function () {
  var button = document.querySelector(".menu-button");
  var menu = document.getElementById("menu");
  if (button && menu) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") === "true";
      button.setAttribute("aria-expanded", open ? "false" : "true");
      menu.classList.toggle("open", !open);
    });
  }
  document.documentElement.classList.add("js");
  document.querySelectorAll("[data-expires]").forEach(function (element) {
    var seconds = parseInt(element.getAttribute("data-expires"), 10) || 8;
    setTimeout(function () { element.hidden = true; }, seconds * 1000);
  });
})();
