"""The app's stylesheet and its small browser script, as strings handed to ``launch``.

What it does: colours chosen for WCAG AA contrast (4.5:1 or more for text) in Gradio's
light and dark themes, the highlight included (dark text on yellow in both); glyphs drawn
with CSS around plain characters, so no emoji font is needed; a phone layout that keeps
the question box on the first screen. The script wires what the chat's sanitized HTML
cannot: a marker click shows its own turn's sources and marks the passage (with a way
back), Copy puts the answer's plain text and citations on the clipboard, Regenerate
passes the turn number to a hidden button, and the whole-article view opens scrolled to
its first highlight.

What it does not do: render content (``ui.render``) or decide anything about answers.
Kept in Python rather than .css/.js files so the package needs no extra data files.
"""

CSS = """
:root { --ra-muted: #4b5563; --ra-mark-bg: #ffe066; --ra-mark-fg: #1a1a1a;
  --ra-accent: #1d4ed8; --ra-link: #1d4ed8; --ra-warn-fg: #713f12; --ra-warn-bg: #fef3c7;
  --ra-warn-line: #d97706; --ra-refusal-fg: #1f2937; --ra-refusal-bg: #e2e8f0;
  --ra-refusal-line: #475569; --ra-info-bg: #dbeafe; --ra-info-fg: #1e3a8a;
  --ra-ok: #166534; --ra-err: #b91c1c; }
.dark { --ra-muted: #cbd5e1; --ra-mark-bg: #ffe066; --ra-mark-fg: #1a1a1a;
  --ra-accent: #93c5fd; --ra-link: #93c5fd; --ra-warn-fg: #fde68a; --ra-warn-bg: #422006;
  --ra-warn-line: #f59e0b; --ra-refusal-fg: #e2e8f0; --ra-refusal-bg: #1e293b;
  --ra-refusal-line: #94a3b8; --ra-info-bg: #172554; --ra-info-fg: #dbeafe;
  --ra-ok: #86efac; --ra-err: #fca5a5; }

.meta { color: var(--ra-muted) !important; font-size: 0.85rem; }
.answer .meta { margin-top: 4px; }
.answer a.cite { color: var(--ra-link); font-weight: bold; text-decoration: none; }
.answer a.cite:hover, .answer a.cite:focus { text-decoration: underline; }
.icon { display: inline-flex; align-items: center; justify-content: center; width: 1.3em;
  height: 1.3em; border: 2px solid currentColor; border-radius: 50%; font: bold 0.75em/1
  sans-serif; font-style: normal; margin-right: 0.4em; vertical-align: 0.1em; }
.answer .refusal { color: var(--ra-refusal-fg); background: var(--ra-refusal-bg);
  border-left: 4px solid var(--ra-refusal-line); padding: 6px 10px; border-radius: 4px; }
.refusal-label { font-weight: 600; margin-right: 0.3em; }
.answer .warning, .answer .stopped { color: var(--ra-warn-fg); background: var(--ra-warn-bg);
  border-left: 4px solid var(--ra-warn-line); padding: 4px 8px; margin-top: 6px;
  border-radius: 4px; font-size: 0.9em; }
.answer.streaming .cursor { opacity: 0.6; }
.answer .tools { margin-top: 6px; display: flex; gap: 6px; }
.answer .tools button { font-size: 0.8rem; padding: 1px 10px; border-radius: 4px;
  border: 1px solid var(--ra-muted); background: transparent; color: inherit; cursor: pointer; }
.answer .tools button:hover { background: var(--ra-refusal-bg); }
.answer .tools .copy-answer.copied::after { content: " ✓"; }
.answer .copy-text { display: none; }

#sources [hidden] { display: none !important; }
.sources-head { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 6px;
  align-items: baseline; }
.sources-head .back { font-size: 0.85rem; color: var(--ra-link); background: transparent;
  border: 1px solid var(--ra-link); border-radius: 4px; padding: 2px 10px; cursor: pointer; }
.sources .source, .sources .article { border: 1px solid var(--border-color-primary);
  border-radius: 6px; padding: 6px 10px; margin: 6px 0; scroll-margin: 72px 0; }
.sources .source.targeted { outline: 3px solid var(--ra-accent); outline-offset: 1px; }
.sources .passage { white-space: pre-wrap; }
.sources .article .passage { max-height: 24em; overflow-y: auto; position: relative; }
.sources mark, .article-card mark { background: var(--ra-mark-bg); color: var(--ra-mark-fg);
  padding: 0 1px; border-radius: 2px; }
.sources mark.targeted { box-shadow: 0 0 0 2px var(--ra-mark-fg); }

.article-card { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline; }
.article-card .card-head { width: 100%; }
.article-card .card-doc { min-width: 12em; }
.article-card .card-title { font-weight: 600; overflow-wrap: anywhere; }
.article-card .article-text { white-space: pre-wrap; max-height: 16em; overflow-y: auto;
  margin-top: 4px; font-size: 0.9em; }
.restriction { color: var(--ra-info-fg); background: var(--ra-info-bg);
  border-left: 4px solid var(--ra-accent); padding: 4px 10px; border-radius: 4px; }
.status.ok { color: var(--ra-ok); } .status.error { color: var(--ra-err); }
#examples button { white-space: normal !important; text-align: left; height: auto !important;
  min-height: 2em; }
#title h2 { margin: 0; }
/* the chat's own clear button would empty the view but not the conversation behind it */
#chat .icon-button-wrapper.top-panel { display: none; }
#ui-lang { flex-grow: 0; margin-left: auto; }
#ui-lang .wrap { flex-wrap: nowrap; gap: 4px; }
/* empty message slots take no room (the phone's first screen is short) */
#question-status:not(:has(.status)), #restriction:not(:has(.restriction)) { display: none; }
table.articles td, table.articles th { padding: 2px 8px; text-align: left; }

@media (max-width: 640px) {
  #chat { height: 40vh !important; min-height: 240px; }
  #intro { display: none; }
  #title h2 { font-size: 1.3rem; }
  #header { flex-wrap: wrap; }
  #ui-lang { margin-left: 0; }
  .article-card { max-height: 7.5em; overflow-y: auto; }
}
"""

SCRIPT = """<script>
(() => {
  let lastMarker = null;

  function showTurn(turn) {
    for (const s of document.querySelectorAll('#sources .turn-sources')) {
      s.hidden = s.dataset.turn !== turn;
    }
    return document.querySelector(`#sources .turn-sources[data-turn="${turn}"]`);
  }

  // A marker of any answer shows that answer's sources and marks the passage it cites.
  function follow(link) {
    const m = (link.getAttribute('href') || '').match(/^#src-(\\d+)-(\\d+)$/);
    const section = m && showTurn(m[1]);
    const source = section && section.querySelector(`.source.m-${m[2]}`);
    if (!source) return false;
    document.querySelectorAll('#sources .targeted').forEach((e) => e.classList.remove('targeted'));
    source.classList.add('targeted');
    for (const mark of source.querySelectorAll('mark')) {
      const labels = (mark.title || '').split(' ');
      mark.classList.toggle('targeted', labels.includes(`[${m[2]}]`));
    }
    lastMarker = link;
    section.querySelector('.back').hidden = false;
    source.scrollIntoView({block: 'nearest'});
    source.focus({preventScroll: true});
    return true;
  }

  function copyAnswer(button) {
    const lines = button.closest('.answer').querySelectorAll('.copy-text .line');
    const text = Array.from(lines, (l) => l.textContent).join('\\n');
    const done = () => button.classList.add('copied');
    const fallback = () => {
      const area = document.createElement('textarea');
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand('copy');
      area.remove();
      done();
    };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
  }

  document.addEventListener('click', (event) => {
    const target = event.target;
    const marker = target.closest('#chat a.cite');
    if (marker) {
      if (follow(marker)) event.preventDefault();
      return;
    }
    if (target.closest('#sources .back') && lastMarker) {
      lastMarker.scrollIntoView({block: 'center'});
      lastMarker.focus();
      return;
    }
    const copy = target.closest('#chat .copy-answer');
    if (copy) return copyAnswer(copy);
    const regen = target.closest('#chat .regen');
    if (regen) {
      window.__ragRegenTurn = Number(regen.className.match(/turn-(\\d+)/)[1]);
      document.querySelector('#regen-go').click();
    }
  });

  // The whole-article view opens scrolled to its first highlighted span.
  new MutationObserver(() => {
    for (const box of document.querySelectorAll('#sources .article .passage:not(.placed)')) {
      box.classList.add('placed');
      const mark = box.querySelector('mark');
      if (mark) box.scrollTop = Math.max(0, mark.offsetTop - 48);
    }
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>"""

# Hands the turn chosen by a Regenerate button (see SCRIPT) to the hidden button's event.
REGEN_JS = "(turn, ...rest) => [window.__ragRegenTurn ?? turn, ...rest]"
