// Playback with abcjs's synth from the locally served note samples, at the
// chosen tempo and instrument, once or in a loop. The status says what the
// player is really doing: it is set on every start, stop and end.
import { $, setStatus } from "./util.js";
import { sheet } from "./sheet.js";

const PREFS = "abcrnn-player";          // localStorage: tempo, loop and instrument stay chosen
export const player = { synth: null, timer: null, playing: false, audio: null, round: 0 };

export function choice() {
  return { program: Number($("instrument").value), tempo: Number($("tempo").value),
           loop: $("loop").checked };
}

const instrumentName = (name) => name.replace(/_/g, " ");

/** The instrument menu from /api/options (only instruments whose note samples
 * exist can be played here, so the others are shown but disabled). */
export function fillInstruments(opts) {
  const list = opts.instruments || (opts.instrument
    ? [{ name: opts.instrument, program: opts.program, samples: true }] : []);
  const select = $("instrument");
  select.replaceChildren(...list.map((i) => {
    const o = new Option(instrumentName(i.name) + (i.samples ? "" : " (no samples)"), String(i.program));
    o.disabled = !i.samples;
    return o;
  }));
  const prefs = readPrefs();
  const usable = list.filter((i) => i.samples);
  const pick = usable.find((i) => i.program === prefs.program)
    || usable.find((i) => i.program === opts.program) || usable[0];
  if (pick) select.value = String(pick.program);
  select.disabled = !usable.length;
  for (const i of list) {
    if (!i.samples) select.querySelector(`option[value="${i.program}"]`).title =
      `no note samples: python -m abcrnn.web.soundfont --instrument ${i.gm_name || i.name}`;
  }
  if (opts.tempo && !(prefs.tempo >= 24)) {       // the server's default beat, until one is chosen
    $("tempo").value = opts.tempo.default;
    $("tempo").dispatchEvent(new Event("input"));
  }
}

function readPrefs() {
  try { return JSON.parse(localStorage.getItem(PREFS)) || {}; } catch (_) { return {}; }
}

function savePrefs() {
  try { localStorage.setItem(PREFS, JSON.stringify(choice())); } catch (_) { /* off */ }
}

function clearHighlight() {
  for (const el of document.querySelectorAll("#paper .playing")) el.classList.remove("playing");
}

function highlight(ev) {
  clearHighlight();
  // null: the last note has begun; the end of the sound is ended()'s to report.
  for (const set of (ev && ev.elements) || []) for (const el of set) el.classList.add("playing");
}

function showPlaying(on) {
  player.playing = on;
  $("play-label").textContent = on ? "Stop" : "Play";
  $("play-icon").setAttribute("d", on ? "M6 6h12v12H6z" : "M7 5l12 7-12 7z");
  $("play").classList.toggle("on", on);
}

function playingText() {
  const { tempo, loop } = choice();
  const sel = $("instrument");
  const inst = sel.selectedIndex >= 0 ? sel.options[sel.selectedIndex].text : "";
  return ["Playing", `${tempo} BPM`, inst, loop ? `round ${player.round}` : ""].filter(Boolean).join(" · ");
}

/** Stops any playing or loading; ``why`` becomes the status (null: leave it). */
export function stop(why = "Stopped") {
  const was = player.playing;
  const synth = player.synth;
  player.synth = null;                  // first: the synth's onEnded sees it was stopped
  if (player.timer) player.timer.stop();
  player.timer = null;
  if (synth) synth.stop();
  clearHighlight();
  if (was) {
    showPlaying(false);
    if (why) setStatus(why);
  }
}

function ended(synth) {
  if (player.synth !== synth) return;   // stopped by hand: stop() has said so
  if ($("loop").checked) {
    player.round += 1;
    synth.start();                      // from the top: the buffer is made once
    player.timer.start(0);
    setStatus(playingText());
    return;
  }
  stop("Finished");
}

/** abcjs's qpm for ``tempo`` beats a minute. The beat is the server's (the
 * downloads' Q:): a dotted quarter in 6/8, 9/8 and 12/8, a half in 2/2 and C|,
 * else a quarter; abcjs counts its own beat (a dotted quarter in 3/8 and 6/4
 * too), so the number is converted, and the page plays as the MIDI does. */
export function abcjsQpm(visual, tempo) {
  const { num, den } = visual.getMeterFraction();
  const beat = den === 8 && [6, 9, 12].includes(num) ? 3 / 8 : num === 2 && den === 2 ? 1 / 2 : 1 / 4;
  return Math.round((tempo * beat) / visual.getBeatLength());
}

export async function play() {
  if (player.playing) { stop(); return; }
  if (!sheet.visual || !ABCJS.synth.supportsAudio()) { setStatus("This browser cannot play audio", true); return; }
  // Made inside the click, so the browser lets it make sound.
  player.audio = player.audio || new (window.AudioContext || window.webkitAudioContext)();
  await player.audio.resume();
  showPlaying(true);
  setStatus("Loading notes…");
  const { program, tempo } = choice();
  const synth = new ABCJS.synth.CreateSynth();
  const visual = sheet.visual;
  const qpm = abcjsQpm(visual, tempo);
  player.synth = synth;
  try {
    // soundFontUrl: samples rendered locally from the GM soundfont (never the
    // default, which is a public web site). Chord symbols are shown, not played.
    // qpm overrides the tune's own Q:.
    await synth.init({ visualObj: visual, audioContext: player.audio, options: {
      soundFontUrl: "/soundfont/", program, qpm, chordsOff: true, onEnded: () => ended(synth) } });
    await synth.prime();
    if (player.synth !== synth) return;  // stopped while loading
    player.timer = new ABCJS.TimingCallbacks(visual, { qpm, eventCallback: highlight });
    player.round = 1;
    synth.start();
    player.timer.start();
    setStatus(playingText());
  } catch (err) {
    if (player.synth !== synth) return;
    stop(null);
    setStatus(`Cannot play: ${err.message || err}`, true);
  }
}

/** A new tempo or instrument while playing starts the tune again with it. */
function changed() {
  savePrefs();
  if (player.playing) {
    stop(null);
    play();
  }
}

export function wirePlayer() {
  const prefs = readPrefs();
  if (prefs.tempo >= 24 && prefs.tempo <= 204) $("tempo").value = prefs.tempo;
  $("loop").checked = Boolean(prefs.loop);
  const showTempo = () => { $("tempo-out").value = `${$("tempo").value} BPM`; };
  showTempo();
  $("tempo").addEventListener("input", showTempo);
  $("tempo").addEventListener("change", changed);
  $("instrument").addEventListener("change", changed);
  $("loop").addEventListener("change", () => {
    savePrefs();
    if (player.playing) setStatus(playingText());
  });
  $("play").addEventListener("click", play);
}
