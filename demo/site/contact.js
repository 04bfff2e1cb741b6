// The site's own submit handler: it sends the form its own way and thanks the visitor.
document.getElementById("contact-form").addEventListener("submit", function (e) {
  e.preventDefault();
  e.target.hidden = true;
  document.getElementById("thanks").hidden = false;
  window.contactSubmitted = true;
});
