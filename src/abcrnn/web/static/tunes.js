// The tunes of this visit: each one the settings that made it (a permalink
// regenerates it) and its versions, the generated one first, then the user's
// edits beside it, so an edit never loses what the model wrote.
import { $, clockTime, field } from "./util.js";

const STORE = "abcrnn-tunes-v2";        // sessionStorage: the list survives a reload
export const SEED_MAX = 4294967295;
const MAX_LEN_DEFAULT = 2000;
// URL parameter <-> request field; the URL uses the words the page shows.
const PARAMS = [["seed", "seed"], ["t", "temperature"], ["meter", "meter"], ["key", "key"],
                ["unit", "length"], ["rhythm", "rhythm"], ["title", "title"], ["form", "form"],
                ["opening", "prime"], ["guide", "guide"], ["model", "model"], ["len", "max_len"]];

export const store = { list: [], current: -1 };

// --- permalinks -------------------------------------------------------------

/** The page's URL that regenerates the tune made with ``s`` (one tune, its own seed). */
export function permalink(s) {
  const q = new URLSearchParams();
  for (const [name, key] of PARAMS) {
    let v = s[key];
    if (key === "temperature") v = String(Number(v));     // exact: 0.85, not 0.8500
    if (key === "guide") v = v === false ? "0" : "1";
    if (key === "max_len" && (v === undefined || Number(v) === MAX_LEN_DEFAULT)) continue;
    if (v !== undefined && v !== null && v !== "") q.set(name, String(v));
  }
  return `/?${q}`;
}

/** The request a permalink's query asks for, or null when it names no seed. */
export function fromQuery(search) {
  const q = new URLSearchParams(search);
  const seed = Number(q.get("seed"));
  if (!q.has("seed") || !Number.isInteger(seed) || seed < 0 || seed > SEED_MAX) return null;
  const s = { seed, num_tunes: 1, temperature: 1, form: "folk", prime: "", guide: true,
              max_len: MAX_LEN_DEFAULT };
  for (const [name, key] of PARAMS) {
    if (!q.has(name) || name === "seed") continue;
    const v = q.get(name);
    if (key === "temperature" || key === "max_len") {
      if (v.trim() !== "" && Number.isFinite(Number(v))) s[key] = Number(v);
    } else if (key === "guide") {
      s.guide = !["0", "false", "no", "off"].includes(v.toLowerCase());
    } else if (v !== "") {
      s[key] = v;
    }
  }
  return s;
}

/** Two requests make the same tune (same permalink). */
const sameTune = (a, b) => permalink(a) === permalink(b);

// --- the list ------------------------------------------------------------------

export function load() {
  try { store.list = JSON.parse(sessionStorage.getItem(STORE)) || []; } catch (_) { store.list = []; }
  if (!Array.isArray(store.list)) store.list = [];
}

export function save() {
  try { sessionStorage.setItem(STORE, JSON.stringify(store.list)); } catch (_) { /* full or off */ }
}

export const entry = (i = store.current) => store.list[i];
export const shownAbc = (e = entry()) => (e ? e.versions[e.shown].abc : "");

/** A generated tune; ``notes`` are the server's words on how its settings were merged. */
export function add(abc, settings, ended, notes = []) {
  store.list.push({ settings, ended, notes, shown: 0,
                    versions: [{ abc, edited: false, made: clockTime() }] });
  save();
  return store.list.length - 1;
}

/** A hand edit of the shown version: the generated version stays; the first
 * edit of it becomes a new version, later keystrokes update that one. */
export function recordEdit(abc) {
  const e = entry();
  if (!e) return;
  const v = e.versions[e.shown];
  if (v.abc === abc) return;
  if (v.edited) {
    v.abc = abc;
    v.made = clockTime();
  } else {
    e.versions.push({ abc, edited: true, made: clockTime() });
    e.shown = e.versions.length - 1;
  }
  save();
}

export function remove(i) {
  store.list.splice(i, 1);
  if (store.current > i || store.current >= store.list.length) store.current -= 1;
  save();
}

export function clear() {
  store.list = [];
  store.current = -1;
  save();
}

/** Where a tune of these settings already is in the list, or -1. */
export function find(settings) {
  return store.list.findIndex((e) => sameTune(e.settings, settings));
}

// --- drawing the list --------------------------------------------------------------

function label(e, i) {
  const v = e.versions[e.shown];
  const s = e.settings;
  const made = [field(v.abc, "M"), field(v.abc, "K")];
  // The seed and temperature made the generated version only: an edit says so.
  const origin = v.edited ? [`edited ${v.made}`, `from seed ${s.seed}`]
    : [`seed ${s.seed}`, `t ${Number(s.temperature).toFixed(2)}`, v.made];
  return { title: field(v.abc, "T") || `Tune ${i + 1}`, meta: [...made, ...origin].filter(Boolean).join(" · ") };
}

function versionButtons(e, i, on) {
  const group = document.createElement("div");
  group.className = "versions";
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", "Versions");
  let edits = 0;
  e.versions.forEach((v, n) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = v.edited ? `edit ${++edits}` : "generated";
    b.setAttribute("aria-pressed", String(n === e.shown));
    b.addEventListener("click", () => on.version(i, n));
    group.append(b);
  });
  return group;
}

function item(e, i, on) {
  const li = document.createElement("li");
  const { title, meta } = label(e, i);
  const a = document.createElement("a");
  a.className = i === store.current ? "entry current" : "entry";
  a.href = permalink(e.settings);
  if (i === store.current) a.setAttribute("aria-current", "true");
  a.title = "A link that makes this tune again";
  const t = document.createElement("span");
  t.className = "title";
  t.textContent = title;
  const m = document.createElement("span");
  m.className = "meta muted";
  m.textContent = meta;
  a.append(t, m);
  a.addEventListener("click", (ev) => {
    // A plain click shows it here; Ctrl/middle click opens the permalink in a new tab.
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    on.select(i);
  });
  const x = document.createElement("button");
  x.type = "button";
  x.className = "remove icon";
  x.textContent = "×";
  x.setAttribute("aria-label", `Remove ${title}`);
  x.title = "Remove from this list";
  x.addEventListener("click", () => on.remove(i));
  li.append(a, x);
  if (e.versions.length > 1) li.append(versionButtons(e, i, on));
  return li;
}

/** The history list; ``on`` has select(i), remove(i), version(i, n). */
export function draw(on) {
  const list = $("history");
  $("clear-history").hidden = !store.list.length;
  if (!store.list.length) {
    const li = document.createElement("li");
    li.className = "empty muted";
    li.textContent = "Tunes you make appear here.";
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(...store.list.map((e, i) => item(e, i, on)));
}
