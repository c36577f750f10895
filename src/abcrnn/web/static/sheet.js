// Sheet music (abcjs) sized for the screen, and the checks shown beside the
// ABC: abcjs's own warnings and the server's bar check (/api/check).
import { $, api } from "./util.js";

export const sheet = { visual: null, drawnWidth: 0, abcjs: [], bars: null, asked: 0 };
const WIDE = 640;          // px of paper: from here abcjs's 720 px staff is scaled to fit
const PAD = 10;

/** abcjs's layout for the paper's width. A 720 px staff squeezed into a phone
 * makes the notes tiny, so a narrow paper gets a staff of its own width, and
 * abcjs re-flows the bars (wrap) to fit it. */
function layout(width) {
  if (width >= WIDE) return { staffwidth: 720 };
  return { staffwidth: Math.max(240, width - 2 * PAD - 4),
           // minSpacing 1.2: two bars of a reel in eighths fit a 390 px phone (at 1.5
           // abcjs falls back to lines of one bar and three, stretched).
           wrap: { minSpacing: 1.2, maxSpacing: 2.7, preferredMeasuresPerLine: width < 460 ? 2 : 3 } };
}

/** Draws ``abc``; returns abcjs's warnings as text. */
export function render(abc) {
  let warnings = [];
  const width = $("paper").clientWidth;
  try {
    [sheet.visual] = ABCJS.renderAbc("paper", abc, {
      responsive: "resize", add_classes: true, paddingtop: PAD, paddingbottom: PAD,
      paddingleft: PAD, paddingright: PAD, ...layout(width) });
    warnings = (sheet.visual && sheet.visual.warnings) || [];
  } catch (err) {
    // A half-typed or odd tune can trip abcjs; keep the page usable.
    sheet.visual = null;
    warnings = [`abcjs could not draw this tune: ${err.message}`];
  }
  sheet.drawnWidth = width;
  // abcjs's warnings are HTML it builds from the tune: parse (inert, never
  // run) and keep the text only.
  const text = (w) => new DOMParser().parseFromString(w, "text/html").body.textContent.trim();
  sheet.abcjs = warnings.map(text);
  showWarnings();
  return sheet.abcjs;
}

/** The drawn layout no longer suits the paper's width (a rotated phone). */
export function needsRedraw() {
  const w = $("paper").clientWidth;
  return Math.abs(w - sheet.drawnWidth) > 24 && (w < WIDE || sheet.drawnWidth < WIDE);
}

/** Asks the server's bar check about ``abc``; an older answer never
 * overwrites a newer one. */
export async function check(abc) {
  const asked = ++sheet.asked;
  // Until the answer comes, the warnings shown are the old text's: say so.
  $("warnings").setAttribute("aria-busy", "true");
  let bars = null;
  try {
    bars = (await (await api("/api/check", { abc })).json()).warnings;
  } catch (_) {
    bars = null;            // no check (an older server, or a tune it refuses): abcjs's alone
  }
  if (asked !== sheet.asked) return;
  sheet.bars = bars;
  $("warnings").removeAttribute("aria-busy");
  showWarnings();
}

function row(source, text, line) {
  const li = document.createElement("li");
  const b = document.createElement("b");
  b.textContent = source;
  li.append(b, ` ${text}`);
  if (line) li.dataset.line = String(line);
  return li;
}

function showWarnings() {
  const box = $("warnings");
  const rows = sheet.abcjs.slice(0, 6).map((w) => row("abcjs:", w));
  if (sheet.abcjs.length > 6) rows.push(row("abcjs:", `… and ${sheet.abcjs.length - 6} more`));
  const bars = sheet.bars || [];
  for (const w of bars.slice(0, 8)) {
    // The bar check's own messages name their bar ("bar 2 is too long..."); abc2midi's do not.
    const bar = w.bar && !/^bar \d/.test(w.message) ? `bar ${w.bar}` : "";
    const where = [w.line ? `line ${w.line}` : "", bar].filter(Boolean).join(", ");
    rows.push(row("bar check:", where ? `${where}: ${w.message}` : w.message, w.line));
  }
  if (bars.length > 8) rows.push(row("bar check:", `… and ${bars.length - 8} more`));
  box.classList.toggle("clean", !rows.length);
  if (!rows.length) {
    box.textContent = sheet.bars ? "No warnings: abcjs reads every symbol and every bar adds up."
      : "";
    return;
  }
  const ul = document.createElement("ul");
  ul.append(...rows);
  box.replaceChildren(ul);
}

export function clearWarnings() {
  sheet.abcjs = [];
  sheet.bars = null;
  sheet.asked += 1;
  $("warnings").removeAttribute("aria-busy");
  $("warnings").textContent = "";
}

/** A click on a bar-check warning selects its line in the ABC. */
export function selectLine(textarea, line) {
  const lines = textarea.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  textarea.focus();
  textarea.setSelectionRange(start, start + (lines[line - 1] || "").length);
}
