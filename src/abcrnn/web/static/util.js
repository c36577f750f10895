// Small helpers every module of the page shares.

export const $ = (id) => document.getElementById(id);

export function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

export async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(path, opts);
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try { msg = (await res.json()).error || msg; } catch (_) { /* not JSON */ }
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return res;
}

/** The value of a header field (T, M, K...) in an ABC tune, or "". */
export function field(abc, name) {
  const m = abc.match(new RegExp(`^${name}:\\s*(.*)$`, "m"));
  return m ? m[1].trim() : "";
}

export function clockTime() {
  return new Date().toLocaleTimeString([], { timeStyle: "short" });
}
