/**
 * The portal's only script, served from `<prefix>/portal/assets/`; every page works without it.
 * It opens confirmations as dialogs (without it, the same form leads to a confirmation page), makes
 * the Copy buttons work, and makes a secret required or not as the issuer chosen for it needs one.
 */
export const SCRIPT = `'use strict';
document.addEventListener('submit', function (event) {
  var form = event.target;
  var id = form instanceof HTMLFormElement ? form.getAttribute('data-dialog') : null;
  var dialog = id ? document.getElementById(id) : null;
  if (!dialog || typeof dialog.showModal !== 'function') return;
  event.preventDefault();
  dialog.showModal();
});
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  var source = document.getElementById(button.getAttribute('data-copy'));
  var status = document.getElementById(button.getAttribute('data-copy-status'));
  if (!source) return;
  var say = function (text) { if (status) status.textContent = text; };
  var select = function () {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  };
  button.hidden = false;
  button.addEventListener('click', function () {
    var text = source.textContent || '';
    var fallback = function () {
      select();
      const copied = document.execCommand && document.execCommand('copy');
      say(copied ? 'Copied.' : 'Selected: press Ctrl+C (or Cmd+C) to copy.');
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { say('Copied.'); }, fallback);
    } else {
      fallback();
    }
  });
});
document.querySelectorAll('select[data-secret]').forEach(function (select) {
  var secret = document.getElementById(select.getAttribute('data-secret'));
  if (!secret) return;
  var follow = function () {
    var option = select.options[select.selectedIndex];
    secret.required = !option || option.getAttribute('data-verification') !== 'none';
  };
  select.addEventListener('change', follow);
  follow();
});
`;
