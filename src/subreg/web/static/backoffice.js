// The back-office item page, keyboard only: Enter confirms (the form's own submit), Esc sets the item aside.
(function () {
  "use strict";
  var skip = document.getElementById("skip-form");
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && skip && !event.defaultPrevented) {
      event.preventDefault();
      skip.submit();
    }
  });
})();
