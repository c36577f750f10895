// The composer page: settings -> /api/generate -> sheet music (abcjs) beside
// editable ABC; playback with abcjs's synth from locally served note samples.
"use strict";

const $ = (id) => document.getElementById(id);
const SEED_MAX = 4294967295;
const STORE = "abcrnn-tunes";           // sessionStorage: the list survives a reload
const state = { tunes: [], current: -1, visual: null, synth: null, timer: null,
                playing: false, program: 40, audio: null };

function randomSeed() {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0];
}

function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(path, opts);
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try { msg = (await res.json()).error || msg; } catch (_) { /* not JSON */ }
    throw new Error(msg);
  }
  return res;
}

// --- settings -------------------------------------------------------------

function fillSelect(select, choices, anyLabel) {
  select.replaceChildren(new Option(anyLabel, ""));
  for (const c of choices) {
    const opt = new Option(c.available ? c.value : `${c.value} (not in this model)`, c.value);
    opt.disabled = !c.available;      // the model has never seen one of its characters
    select.append(opt);
  }
}

async function loadOptions() {
  const [opts, health] = await Promise.all([
    api("/api/options").then((r) => r.json()), api("/api/health").then((r) => r.json())]);
  fillSelect($("meter"), opts.meters, "any");
  fillSelect($("key"), opts.keys, "any");
  fillSelect($("length"), opts.lengths, "any");
  fillSelect($("rhythm"), opts.rhythms, "any");
  $("form").replaceChildren(...opts.forms.map((f) => new Option(
    { folk: "folk (parts of 8 bars, home on the tonic)", free: "free (the model's own)" }[f] || f, f)));
  if (opts.program !== null) state.program = opts.program;
  const k = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${Math.round(n / 1e3)}k`);
  $("model-info").textContent = `model ${health.model} · ${k(health.parameters)} parameters · ${health.steps} steps`;
  if (!health.sound) $("play").title = "Note samples are missing: run python -m abcrnn.web.soundfont";
}

function setLock(locked) {
  const btn = $("seed-lock");
  btn.setAttribute("aria-pressed", String(locked));
  btn.title = locked ? "Locked: every Generate reuses this seed. Click to unlock."
                     : "Unlocked: a new seed for each tune. Click to keep this seed.";
  $("shackle").setAttribute("d", locked ? "M8 11V7a4 4 0 0 1 8 0v4" : "M8 11V7a4 4 0 0 1 7.5-2");
}

function request() {
  const locked = $("seed-lock").getAttribute("aria-pressed") === "true";
  let seed = Number.parseInt($("seed").value, 10);
  if (!locked || !(seed >= 0 && seed <= SEED_MAX)) seed = randomSeed();
  $("seed").value = seed;
  const body = { temperature: Number($("temperature").value), seed,
                 num_tunes: Number($("num-tunes").value) || 1, max_len: Number($("max-len").value) || 2000,
                 prime: $("prime").value, guide: $("guide").checked };
  for (const f of ["meter", "key", "length", "rhythm", "form"]) if ($(f).value) body[f] = $(f).value;
  const title = $("title").value.trim();
  if (title) body.title = title;
  return body;
}

async function generate(event) {
  event.preventDefault();
  const body = request();
  const btn = $("generate");
  btn.disabled = true;
  setStatus("Composing…");
  try {
    const data = await (await api("/api/generate", body)).json();
    for (const t of data.tunes) addTune(t.abc, { ...body, seed: data.seed, ended: t.ended });
    select(state.tunes.length - data.tunes.length);
    setStatus(`Composed in ${data.seconds.toFixed(1)} s` +
              (data.tunes.every((t) => t.ended) ? "" : " (cut at the length limit)"));
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    btn.disabled = false;
  }
}

// --- the tune list --------------------------------------------------------

function field(abc, name) {
  const m = abc.match(new RegExp(`^${name}:\\s*(.*)$`, "m"));
  return m ? m[1].trim() : "";
}

function addTune(abc, settings) {
  state.tunes.push({ abc, settings, made: new Date().toLocaleTimeString([], { timeStyle: "short" }) });
  save();
}

function save() {
  try { sessionStorage.setItem(STORE, JSON.stringify(state.tunes)); } catch (_) { /* full or off */ }
}

function drawHistory() {
  const list = $("history");
  if (!state.tunes.length) return;
  list.replaceChildren(...state.tunes.map((t, i) => {
    const li = document.createElement("li");
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = i === state.current ? "current" : "";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = field(t.abc, "T") || `Tune ${i + 1}`;
    const meta = document.createElement("span");
    meta.className = "meta muted";
    const parts = [field(t.abc, "M"), field(t.abc, "K"), `seed ${t.settings.seed}`,
                   `t ${Number(t.settings.temperature).toFixed(2)}`, t.made];
    meta.textContent = parts.filter(Boolean).join(" · ");
    btn.append(title, meta);
    btn.addEventListener("click", () => select(i));
    li.append(btn);
    return li;
  }));
}

function select(i) {
  stop();
  state.current = i;
  $("abc").value = state.tunes[i].abc;
  $("abc").disabled = false;
  for (const id of ["play", "dl-abc", "dl-midi", "dl-audio", "dl-musicxml"]) $(id).disabled = false;
  drawHistory();
  render();
}

// --- sheet music and editing ----------------------------------------------

function render() {
  let warnings = [];
  try {
    [state.visual] = ABCJS.renderAbc("paper", $("abc").value, {
      responsive: "resize", add_classes: true, paddingtop: 10, paddingbottom: 10,
      paddingleft: 10, paddingright: 10, staffwidth: 720 });
    warnings = (state.visual && state.visual.warnings) || [];
  } catch (err) {
    // A half-typed or odd tune can trip abcjs; keep the page usable.
    state.visual = null;
    warnings = [`abcjs could not draw this tune: ${err.message}`];
  }
  // abcjs's warnings are HTML it builds from the tune: parse (inert, never
  // run) and keep the text only.
  const text = (w) => new DOMParser().parseFromString(w, "text/html").body.textContent;
  const shown = warnings.slice(0, 4).map(text);
  if (warnings.length > 4) shown.push(`… and ${warnings.length - 4} more`);
  $("warnings").textContent = shown.join("\n");
}

let editTimer = 0;
function edited() {
  stop();
  clearTimeout(editTimer);
  editTimer = setTimeout(() => {
    if (state.current < 0) return;
    state.tunes[state.current].abc = $("abc").value;
    save();
    drawHistory();
    render();
  }, 150);
}

// --- playback ---------------------------------------------------------------

function highlight(ev) {
  for (const el of document.querySelectorAll("#paper .playing")) el.classList.remove("playing");
  if (!ev) { stop(); return; }          // null: the tune has ended
  for (const set of ev.elements || []) for (const el of set) el.classList.add("playing");
}

function showPlaying(on) {
  state.playing = on;
  $("play-label").textContent = on ? "Stop" : "Play";
  $("play-icon").setAttribute("d", on ? "M6 6h12v12H6z" : "M7 5l12 7-12 7z");
  $("play").classList.toggle("on", on);
}

function stop() {
  if (state.synth) state.synth.stop();
  if (state.timer) state.timer.stop();
  state.synth = state.timer = null;
  for (const el of document.querySelectorAll("#paper .playing")) el.classList.remove("playing");
  if (state.playing) showPlaying(false);
}

async function play() {
  if (state.playing) { stop(); return; }
  if (!state.visual || !ABCJS.synth.supportsAudio()) { setStatus("This browser cannot play audio", true); return; }
  // Made inside the click, so the browser lets it make sound.
  state.audio = state.audio || new (window.AudioContext || window.webkitAudioContext)();
  await state.audio.resume();
  showPlaying(true);
  setStatus("Loading notes…");
  const synth = new ABCJS.synth.CreateSynth();
  state.synth = synth;
  try {
    // soundFontUrl: samples rendered locally from the GM soundfont (never the
    // default, which is a public web site). Chord symbols are shown, not played.
    await synth.init({ visualObj: state.visual, audioContext: state.audio,
                       options: { soundFontUrl: "/soundfont/", program: state.program, chordsOff: true } });
    await synth.prime();
    if (state.synth !== synth) return;  // stopped while loading
    state.timer = new ABCJS.TimingCallbacks(state.visual, { eventCallback: highlight });
    synth.start();
    state.timer.start();
    setStatus("Playing");
  } catch (err) {
    stop();
    setStatus(`Cannot play: ${err.message || err}`, true);
  }
}

// --- downloads ---------------------------------------------------------------

function stem() {
  const abc = $("abc").value;
  const title = field(abc, "T").normalize("NFKD").toLowerCase().replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 60);
  return title || `tune-${state.current + 1}`;
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

// --- start ----------------------------------------------------------------------

function start() {
  if (!window.ABCJS) { setStatus("abcjs is not installed: run npm ci", true); return; }
  setLock(false);
  $("seed").value = randomSeed();
  $("temperature").addEventListener("input", (e) => {
    $("temperature-out").value = Number(e.target.value).toFixed(2);
  });
  $("seed-lock").addEventListener("click", () =>
    setLock($("seed-lock").getAttribute("aria-pressed") !== "true"));
  $("seed").addEventListener("change", () => setLock(true));   // a typed seed is meant to stay
  $("compose").addEventListener("submit", generate);
  $("abc").addEventListener("input", edited);
  $("play").addEventListener("click", play);
  $("dl-abc").addEventListener("click", () =>
    saveBlob(new Blob([$("abc").value], { type: "text/vnd.abc" }), `${stem()}.abc`));
  $("dl-midi").addEventListener("click", () =>
    download("/api/midi", { abc: $("abc").value }, `${stem()}.mid`, "MIDI"));
  $("dl-musicxml").addEventListener("click", () =>
    download("/api/musicxml", { abc: $("abc").value }, `${stem()}.musicxml`, "MusicXML"));
  $("dl-audio").addEventListener("click", () =>
    download("/api/audio", { abc: $("abc").value, format: "mp3" }, `${stem()}.mp3`, "MP3"));
  loadOptions().catch((err) => setStatus(`Cannot reach the server: ${err.message}`, true));
  try { state.tunes = JSON.parse(sessionStorage.getItem(STORE)) || []; } catch (_) { state.tunes = []; }
  if (state.tunes.length) select(state.tunes.length - 1);
}

document.addEventListener("DOMContentLoaded", start);
