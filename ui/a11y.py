"""Keyboard use and screen readers: a live region for answers, labels, shortcuts.

What it does (a browser script handed to ``launch``): a polite live region announces
"Searching the articles…" when an answer starts and the answer's text once it is complete
(announcing every streamed token would drown the reader); Esc stops the answer being
written; "/" (outside a text field) or Alt+Q moves the focus to the question box; the
question box, which shows no visible label, gets its placeholder as accessible name. Its
stylesheet lifts what axe-core finds under 4.5:1 contrast in Gradio's own styles (dimmed
chat messages, the Send button, the footer, the slider's range), makes the article's
scrolling box reachable by keyboard and lets the upload zone be named by its words.
Enter sends and Shift+Enter starts a new line: the question box does that itself.

What it does not do: render answers or change what they say.
"""

from __future__ import annotations

CSS = """
/* Gradio dims chat messages (opacity 0.8), which takes links and muted text under 4.5:1 */
#chat span.chatbot.prose { opacity: 1 !important; }
/* White on Gradio's orange is 3.5:1; this darker orange gives 5.2:1 */
#send, #send:hover { background: #c2410c !important; border-color: #c2410c !important;
  color: #ffffff !important; }
footer .show-api, footer .built-with, footer .settings, .max_value, .min_value,
  #upload .or { color: var(--ra-muted) !important; }
.ra-sr-only { position: absolute !important; width: 1px; height: 1px; padding: 0;
  margin: -1px; overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
"""

SCRIPT = """<script>
(() => {
  const live = document.createElement('div');
  live.id = 'answer-live';
  live.className = 'ra-sr-only';
  live.setAttribute('aria-live', 'polite');
  live.setAttribute('aria-atomic', 'true');
  const say = (text) => { live.textContent = text; };
  let finished = -1;
  let streaming = false;

  const watch = () => {
    if (!live.isConnected && document.body) document.body.appendChild(live);
    const box = document.querySelector('#question textarea');
    if (box && !box.getAttribute('aria-label')) {
      box.setAttribute('aria-label', box.getAttribute('placeholder') || 'Question');
    }
    // A box that scrolls must be reachable by keyboard to be scrolled without a mouse.
    for (const el of document.querySelectorAll('#sources .article .passage:not([tabindex])')) {
      el.setAttribute('tabindex', '0');
    }
    // Gradio names its drop zone otherwise than the words it shows; its words name it.
    for (const el of document.querySelectorAll('.upload-container[aria-label]')) {
      el.removeAttribute('aria-label');
    }
    const done = document.querySelectorAll('#chat .answer .tools');
    const now = document.querySelector('#chat .answer.streaming') !== null;
    if (now && !streaming) say(document.querySelector('#chat .answer.streaming').innerText
      .replace('▌', '').trim());
    streaming = now;
    if (finished >= 0 && done.length > finished) {
      const answer = done[done.length - 1].closest('.answer');
      const text = answer.querySelector('.answer-text, .refusal, .warning');
      if (text) say(text.innerText.trim());
    }
    finished = done.length;
  };
  new MutationObserver(watch).observe(document.documentElement, {childList: true, subtree: true});

  const typing = (el) =>
    el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      const stop = document.querySelector('#stop');
      if (stop && stop.offsetParent !== null) { stop.click(); event.preventDefault(); }
      return;
    }
    const slash = event.key === '/' && !typing(document.activeElement);
    const altQ = event.altKey && (event.key === 'q' || event.key === 'Q');
    if (slash || altQ) {
      const box = document.querySelector('#question textarea');
      if (box) { box.focus(); event.preventDefault(); }
    }
  });
})();
</script>"""
