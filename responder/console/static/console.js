// The console's own script: the menu button on narrow screens. Everything else is htmx.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  var button = document.querySelector(".menu-button");
  var menu = document.getElementById("menu");
  if (!button || !menu) return;
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", open ? "false" : "true");
    menu.classList.toggle("open", !open);
  });
});
