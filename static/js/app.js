// app.js — progressive enhancement only; every page works without it.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  // Close the user menu when clicking elsewhere.
  document.addEventListener('click', (e) => {
    document.querySelectorAll('details.usermenu[open]').forEach((d) => {
      if (!d.contains(e.target)) d.removeAttribute('open');
    });
  });
  // Focus the first field with an error, else the first empty input of a form page.
  const bad = document.querySelector('.field.has-error input, .field.has-error select, .field.has-error textarea');
  const first = bad || document.querySelector('main form.form input:not([type=hidden])');
  if (first) first.focus();
});
