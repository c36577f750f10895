// The compose form: what the server offers (/api/options, /api/models), the
// request the form asks for, and putting a tune's settings back into it.
import { $, api } from "./util.js";
import { SEED_MAX } from "./tunes.js";
import { fillInstruments } from "./player.js";

const SELECTS = ["meter", "key", "length", "rhythm", "form"];
const FORM_NAMES = { folk: "folk (parts of 8 bars, home on the tonic)", free: "free (the model's own)" };

export function randomSeed() {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0];
}

function fillSelect(select, choices, anyLabel) {
  select.replaceChildren(new Option(anyLabel, ""));
  for (const c of choices) {
    const opt = new Option(c.available ? c.value : `${c.value} (not in this model)`, c.value);
    opt.disabled = !c.available;      // the model has never seen one of its characters
    select.append(opt);
  }
}

const thousands = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${Math.round(n / 1e3)}k`);

/** A model's training facts in words, for its menu entry and the header. */
export function modelFacts(m) {
  const c = m.corpus && typeof m.corpus === "object" ? m.corpus : { name: m.corpus };
  const corpus = c.name && `corpus ${c.name}` + (c.tunes ? ` (${c.tunes.toLocaleString("en")} tunes)` : "");
  const net = [m.cell && m.cell.toUpperCase(), m.num_layers && m.hidden_size && `${m.num_layers}×${m.hidden_size}`];
  return [net.filter(Boolean).join(" "), m.parameters && `${thousands(m.parameters)} parameters`,
          `${Number(m.steps).toLocaleString("en")} steps`,
          typeof m.best_val_loss === "number" && `validation loss ${m.best_val_loss.toFixed(3)}`,
          corpus].filter(Boolean).join(", ");
}

function fillModels(models) {
  const select = $("model");
  select.replaceChildren(...models.map((m) => new Option(`${m.name} — ${modelFacts(m)}`, m.name)));
  const def = models.find((m) => m.default) || models[0];
  if (def) select.value = def.name;
  // One model: nothing to choose, the header names it.
  $("model-field").hidden = models.length < 2;
  showModel(models);
  select.addEventListener("change", () => {
    showModel(models);
    fillHeaderChoices(select.value).catch(() => { /* keep the last model's menus */ });
  });
}

/** The meter, key, unit and rhythm menus, each value marked usable if this
 * model knows its characters; the values chosen stay chosen. */
async function fillHeaderChoices(model) {
  const opts = await (await api(`/api/options${model ? `?model=${encodeURIComponent(model)}` : ""}`)).json();
  for (const [id, list] of [["meter", opts.meters], ["key", opts.keys], ["length", opts.lengths],
                            ["rhythm", opts.rhythms]]) {
    const keep = $(id).value;
    fillSelect($(id), list, "any");
    setSelect($(id), keep);
  }
  return opts;
}

function showModel(models) {
  const m = models.find((x) => x.name === $("model").value);
  if (m) $("model-info").textContent = `model ${m.name} · ${modelFacts(m)}`;
}

/** Fills the form from the server; resolves once every select is ready. */
export async function loadOptions() {
  const [opts, health, models] = await Promise.all([
    fillHeaderChoices(null), api("/api/health").then((r) => r.json()),
    api("/api/models").then((r) => r.json()).catch(() => null)]);
  $("form").replaceChildren(...opts.forms.map((f) => new Option(FORM_NAMES[f] || f, f)));
  fillInstruments(opts);
  if (models && models.length) {
    fillModels(models);
  } else {                              // a server that serves one model and no menu
    $("model-field").hidden = true;
    $("model-info").textContent = `model ${health.model} · ${modelFacts(health)}`;
  }
  if (!health.sound) $("play").title = "Note samples are missing: run python -m abcrnn.web.soundfont";
}

export const seedLocked = () => $("seed-lock").getAttribute("aria-pressed") === "true";

export function setLock(locked) {
  const btn = $("seed-lock");
  btn.setAttribute("aria-pressed", String(locked));
  btn.title = locked ? "Locked: every Generate reuses this seed. Click to unlock."
                     : "Unlocked: a new seed for each tune. Click to keep this seed.";
  $("shackle").setAttribute("d", locked ? "M8 11V7a4 4 0 0 1 8 0v4" : "M8 11V7a4 4 0 0 1 7.5-2");
}

/** The request the form asks for. The seed box is not touched here: a
 * Generate that fails leaves the seed that was there. */
export function formRequest() {
  let seed = Number.parseInt($("seed").value, 10);
  if (!seedLocked() || !(seed >= 0 && seed <= SEED_MAX)) seed = randomSeed();
  const body = { temperature: Number($("temperature").value), seed,
                 num_tunes: Number($("num-tunes").value) || 1, max_len: Number($("max-len").value) || 2000,
                 prime: $("prime").value, guide: $("guide").checked };
  for (const f of SELECTS) if ($(f).value) body[f] = $(f).value;
  const title = $("title").value.trim();
  if (title) body.title = title;
  if ($("model").value) body.model = $("model").value;
  return body;
}

function setSelect(select, value) {
  // A permalink may name a value the menu lacks (typed by hand): show it as is.
  if (value && ![...select.options].some((o) => o.value === value)) select.append(new Option(value, value));
  select.value = value || "";
}

/** Puts a tune's settings back into the form, so Generate asks for it again. */
export function applySettings(s) {
  $("temperature").value = s.temperature;
  $("temperature-out").value = Number(s.temperature).toFixed(2);
  $("seed").value = s.seed;
  for (const f of SELECTS) setSelect($(f), s[f] || (f === "form" ? "folk" : ""));
  $("title").value = s.title || "";
  $("prime").value = s.prime || "";
  $("guide").checked = s.guide !== false;
  $("max-len").value = s.max_len || 2000;
  if (s.model) {
    setSelect($("model"), s.model);
    $("model").dispatchEvent(new Event("change"));
  }
}

export function wireSettings() {
  setLock(false);
  $("seed").value = randomSeed();
  $("temperature").addEventListener("input", (e) => {
    $("temperature-out").value = Number(e.target.value).toFixed(2);
  });
  $("seed-lock").addEventListener("click", () => setLock(!seedLocked()));
  $("seed").addEventListener("change", () => setLock(true));   // a typed seed is meant to stay
}
