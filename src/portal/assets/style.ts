/** The portal's stylesheet, served from `<prefix>/portal/assets/` (a module, so that no build step copies it). */
export const STYLE = `
:root {
  --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --paper: #fff; --soft: #f6f8fa;
  --accent: #0b5cad; --accent-ink: #fff; --danger: #a40e26; --ok: #1a7f37; --warn-bg: #fff8c5;
  color-scheme: light;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--paper);
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible, select:focus-visible,
summary:focus-visible {
  outline: 3px solid var(--accent); outline-offset: 2px;
}
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--paper); padding: .5rem; z-index: 10; }
header { border-bottom: 1px solid var(--line); background: var(--soft); }
header nav {
  max-width: 60rem; margin: 0 auto; padding: .5rem 1rem; display: flex; flex-wrap: wrap; gap: .5rem 1rem;
  align-items: center;
}
header nav .brand { font-weight: 600; color: var(--ink); text-decoration: none; margin-right: auto; }
header nav .who { color: var(--muted); }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 0 0 .5rem; overflow-wrap: anywhere; }
h3 { font-size: 1rem; margin: 0 0 .5rem; }
p { margin: 0 0 1rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9rem; }
code { overflow-wrap: anywhere; }
pre {
  background: var(--soft); border: 1px solid var(--line); padding: .75rem; overflow-x: auto;
  white-space: pre-wrap; word-break: break-all;
}
.hint { color: var(--muted); font-size: .9rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin: 0 0 1rem; }
ul.items { list-style: none; padding: 0; margin: 0 0 1rem; }
ul.items > li { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin-bottom: .5rem; }
ul.items > li a.name { font-weight: 600; }
.tag {
  display: inline-block; font-size: .8rem; border: 1px solid var(--line); border-radius: 1rem;
  padding: 0 .5rem; color: var(--muted);
}
.tag.blocked { color: var(--danger); border-color: var(--danger); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0 0 1rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: 0 0 1rem; }
.actions form { margin: 0; }
button, .button {
  font: inherit; display: inline-block; padding: .45rem 1rem; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-ink);
  text-decoration: none; min-height: 2.5rem;
}
button.secondary, .button.secondary { background: var(--paper); color: var(--accent); }
button.danger { background: var(--danger); border-color: var(--danger); }
form.stack { display: grid; gap: 1rem; max-width: 36rem; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input[type=text], input[type=password], input[type=url], textarea, select {
  font: inherit; width: 100%; padding: .45rem .6rem; border: 1px solid #8c959f; border-radius: 6px;
  background: var(--paper); color: var(--ink);
}
textarea { min-height: 5rem; }
[role=alert] {
  border: 1px solid var(--danger); border-left-width: 6px; background: #ffebe9; padding: .75rem 1rem;
  margin: 0 0 1rem; border-radius: 6px;
}
[role=status].notice {
  border: 1px solid var(--ok); border-left-width: 6px; background: #dafbe1; padding: .75rem 1rem;
  margin: 0 0 1rem; border-radius: 6px;
}
[role=alert] p:last-child, .notice p:last-child, .secret p:last-child, dialog p:last-of-type { margin-bottom: 0; }
dialog .actions { margin: 1rem 0 0; }
.secret { border: 2px solid #9a6700; background: var(--warn-bg); padding: 1rem; border-radius: 6px; margin: 0 0 1rem; }
.secret code {
  display: inline-block; font-size: 1rem; background: var(--paper); padding: .25rem .5rem;
  border: 1px solid var(--line); margin-right: .5rem;
}
.keys { margin-bottom: 1.5rem; }
dialog {
  border: 1px solid var(--line); border-radius: 8px; max-width: min(32rem, calc(100vw - 2rem));
  padding: 1.25rem;
}
dialog::backdrop { background: rgb(0 0 0 / 45%); }
.pager { margin: 1rem 0; }
@media (max-width: 30rem) {
  dl { grid-template-columns: 1fr; }
  dd { margin-bottom: .5rem; }
  h1 { font-size: 1.35rem; }
  .actions button, .actions .button { width: 100%; }
  .actions form { width: 100%; }
}
`;
