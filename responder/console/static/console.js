// The console's own script: the menu button on narrow screens, and an Undo button that
// goes away after a few seconds. Everything else is htmx.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  var button = document.querySelector(".menu-button");
  var menu = document.getElementById("menu");
  if (button && menu) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") === "true";
      button.setAttribute("aria-expanded", open ? "false" : "true");
      menu.classList.toggle("open", !open);
    });
  }
  document.querySelectorAll("[data-expires]").forEach(function (element) {
    var seconds = parseInt(element.getAttribute("data-expires"), 10) || 8;
    setTimeout(function () { element.hidden = true; }, seconds * 1000);
  });
});
