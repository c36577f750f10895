// The composer page: settings -> /api/generate -> sheet music (abcjs) beside
// editable ABC; every tune has a permalink that makes it again.
import { $, api, setStatus, field } from "./util.js";
import * as tunes from "./tunes.js";
import { render, check, clearWarnings, needsRedraw, selectLine } from "./sheet.js";
import { player, stop, choice, wirePlayer } from "./player.js";
import { applySettings, formRequest, loadOptions, wireSettings } from "./settings.js";

const TOOLS = ["play", "dl-abc", "dl-midi", "dl-audio", "dl-musicxml"];
let busy = false;

// --- generating -------------------------------------------------------------

function showNotes(notes) {
  const box = $("notes");
  box.hidden = !(notes && notes.length);
  box.replaceChildren(...(notes || []).map((n) => {
    const li = document.createElement("li");
    li.textContent = n;
    return li;
  }));
}

/** Asks the server for ``body``'s tunes. ``how`` is "push" (a new page state
 * the Back button returns from), "replace" (the URL already asks for it) or
 * "none" (Back/Forward brought us here). */
async function generate(body, how = "push") {
  if (busy) return;
  busy = true;
  $("generate").disabled = true;
  setStatus("Composing…");
  try {
    const data = await (await api("/api/generate", body)).json();
    let first = -1;
    data.tunes.forEach((t, n) => {
      // Each tune's own seed: num_tunes=1 with it makes this tune again.
      const seed = t.seed ?? (n === 0 ? data.seed : undefined);
      const i = tunes.add(t.abc, { ...body, num_tunes: 1, seed }, t.ended, data.notes || []);
      if (first < 0) first = i;
    });
    $("seed").value = tunes.entry(first).settings.seed;
    const link = tunes.permalink(tunes.entry(first).settings);
    if (how === "push" && link !== location.pathname + location.search) history.pushState(null, "", link);
    if (how === "replace") history.replaceState(null, "", link);
    select(first, { restore: false, focus: true });
    setStatus(`Composed in ${data.seconds.toFixed(1)} s` +
              (data.tunes.every((t) => t.ended) ? "" : " (cut at the length limit)"));
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    busy = false;
    $("generate").disabled = false;
  }
}

// --- showing a tune -------------------------------------------------------------

const handlers = {
  select: (i) => {
    select(i, { restore: true });
    const link = tunes.permalink(tunes.entry(i).settings);
    if (link !== location.pathname + location.search) history.pushState(null, "", link);
  },
  remove: (i) => {
    flushEdit();
    const wasCurrent = i === tunes.store.current;
    tunes.remove(i);
    if (!tunes.store.list.length) { empty(); return; }
    if (wasCurrent) select(Math.max(0, Math.min(i, tunes.store.list.length - 1)), { restore: false });
    else tunes.draw(handlers);
  },
  version: (i, n) => {
    flushEdit();
    tunes.entry(i).shown = n;
    tunes.save();
    select(i, { restore: false });
  },
};

/** Focus on the new tune and, when it is out of sight (a phone, where the form
 * comes first), scroll it into view. */
function focusTune() {
  $("sheet").focus({ preventScroll: true });
  const top = $("tune").getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight * 0.3) $("tune").scrollIntoView({ block: "start" });
}

function select(i, { restore = false, focus = false } = {}) {
  flushEdit();
  stop();
  tunes.store.current = i;
  const e = tunes.entry(i);
  const abc = tunes.shownAbc(e);
  $("abc").value = abc;
  $("abc").disabled = false;
  for (const id of TOOLS) $(id).disabled = false;
  if (restore) applySettings(e.settings);
  showNotes(e.notes);
  tunes.draw(handlers);
  render(abc);
  check(abc);
  if (focus) focusTune();
}

function empty() {
  stop();
  tunes.clear();
  tunes.draw(handlers);
  $("abc").value = "";
  $("abc").disabled = true;
  for (const id of TOOLS) $(id).disabled = true;
  showNotes([]);
  clearWarnings();
  $("paper").replaceChildren($("placeholder-template").content.cloneNode(true));
  setStatus("");
}

let editTimer = 0;
function edited() {
  if (player.playing) stop("Stopped: the tune was edited");
  clearTimeout(editTimer);
  editTimer = setTimeout(() => {
    editTimer = 0;
    if (tunes.store.current < 0) return;
    const abc = $("abc").value;
    tunes.recordEdit(abc);
    tunes.draw(handlers);
    render(abc);
    check(abc);
  }, 150);
}

/** An edit still waiting for its timer belongs to the tune shown now: keep it
 * there before another tune (or version) is shown. */
function flushEdit() {
  if (!editTimer) return;
  clearTimeout(editTimer);
  editTimer = 0;
  if (tunes.store.current >= 0) tunes.recordEdit($("abc").value);
}

// --- downloads ---------------------------------------------------------------

function stem() {
  const title = field($("abc").value, "T").normalize("NFKD").toLowerCase().replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 60);
  return title || `tune-${tunes.store.current + 1}`;
}

function saveBlob(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

async function download(path, body, name, label) {
  setStatus(`Rendering ${label}…`);
  try {
    const res = await api(path, body);
    saveBlob(await res.blob(), name);
    setStatus(`${label} ready`);
  } catch (err) {
    setStatus(err.message, true);
  }
}

function wireDownloads() {
  // MIDI and MP3 carry the player's instrument and tempo, so they sound as the page plays.
  const sound = () => { const { program, tempo } = choice(); return { abc: $("abc").value, program, tempo }; };
  $("dl-abc").addEventListener("click", () =>
    saveBlob(new Blob([$("abc").value], { type: "text/vnd.abc" }), `${stem()}.abc`));
  $("dl-midi").addEventListener("click", () => download("/api/midi", sound(), `${stem()}.mid`, "MIDI"));
  $("dl-musicxml").addEventListener("click", () =>
    download("/api/musicxml", { abc: $("abc").value }, `${stem()}.musicxml`, "MusicXML"));
  $("dl-audio").addEventListener("click", () =>
    download("/api/audio", { ...sound(), format: "mp3" }, `${stem()}.mp3`, "MP3"));
}

// --- start ----------------------------------------------------------------------

/** The tune the URL asks for: shown if this visit has it, else generated. */
function openPermalink(how) {
  const s = tunes.fromQuery(location.search);
  if (!s) return false;
  applySettings(s);
  const i = tunes.find(s);
  if (i >= 0) select(i, { restore: true, focus: true });
  else generate(s, how);
  return true;
}

function wire() {
  wireSettings();
  wirePlayer();
  wireDownloads();
  $("compose").addEventListener("submit", (e) => { e.preventDefault(); generate(formRequest()); });
  $("compose").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); generate(formRequest()); }
  });
  $("abc").addEventListener("input", edited);
  $("warnings").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-line]");
    if (li) selectLine($("abc"), Number(li.dataset.line));
  });
  let clearArmed = 0;
  $("clear-history").addEventListener("click", () => {
    // Two clicks, so one slip of a finger does not lose the visit's tunes.
    if (!clearArmed) {
      $("clear-history").textContent = "Clear all?";
      clearArmed = setTimeout(() => { clearArmed = 0; $("clear-history").textContent = "Clear"; }, 4000);
      return;
    }
    clearTimeout(clearArmed);
    clearArmed = 0;
    $("clear-history").textContent = "Clear";
    empty();
  });
  window.addEventListener("popstate", () => openPermalink("none"));
  // A rotated phone, or the page's own layout settling: draw again for the paper's new width.
  new ResizeObserver(() => {
    if (!player.playing && tunes.store.current >= 0 && needsRedraw()) render($("abc").value);
  }).observe($("paper"));
}

async function start() {
  if (!window.ABCJS) { setStatus("abcjs is not installed: run npm ci", true); return; }
  wire();
  tunes.load();
  tunes.draw(handlers);
  try {
    await loadOptions();
  } catch (err) {
    setStatus(`Cannot reach the server: ${err.message}`, true);
    return;
  }
  if (!openPermalink("replace") && tunes.store.list.length) select(tunes.store.list.length - 1);
  document.body.dataset.ready = "true";     // for tests: options loaded, URL handled
}

start();
