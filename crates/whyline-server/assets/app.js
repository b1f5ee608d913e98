// whyline dashboard: plain JavaScript, no build step. The token is asked for once, kept in
// sessionStorage and sent as an Authorization header (never in a URL). The live stream is
// read with fetch and a streaming reader, since EventSource cannot send headers.
"use strict";

const TOKEN = "whyline.token";
const ADMIN = "whyline.admin";
const $ = (selector, root = document) => root.querySelector(selector);
const main = $("#main");
const view = document.body.dataset.view;

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function headers(token = sessionStorage.getItem(TOKEN)) {
  return token ? { Authorization: "Bearer " + token } : {};
}

function status(text, kind = "") {
  const node = $("#connection");
  node.textContent = text;
  node.className = kind;
}

// Asks for a token (once per tab) and resolves when one is entered; callers asking while
// the form is up share the one answer.
let asking = null;
function askToken(reason) {
  if (!asking) asking = showLogin(reason).finally(() => (asking = null));
  return asking;
}

function showLogin(reason) {
  const form = $("#login");
  form.hidden = false;
  status(reason, "bad");
  $("#token").focus();
  return new Promise((resolve) => {
    form.onsubmit = (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN, $("#token").value.trim());
      $("#token").value = "";
      form.hidden = true;
      status("");
      resolve();
    };
  });
}

// fetch with the token; asks for one on 401 and tries again.
async function api(path, options = {}) {
  for (;;) {
    const response = await fetch(path, {
      ...options,
      headers: { ...headers(), ...(options.headers || {}) },
    });
    if (response.status === 401) {
      await askToken("This server needs a token (read scope).");
      continue;
    }
    return response;
  }
}

async function json(path) {
  const response = await api(path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

const pct = (p) => (p === null || p === undefined ? "–" : (p * 100).toFixed(1) + "%");
const micros = (us) => (us === null || us === undefined ? "–" : us < 1000 ? us.toFixed(1) + " µs" : (us / 1000).toFixed(2) + " ms");
const clock = (ns) => new Date(Number(BigInt(ns) / 1000000n)).toISOString().slice(11, 23);
const LEVEL = { warning: "▲ warning", critical: "◆ critical", stop: "■ STOP" };

// ---- The stream ------------------------------------------------------------------------

// Reads /v1/stream for ever: calls handlers[event](data); reconnects after a break,
// resuming after the last decision index seen.
async function follow(handlers) {
  let last = null;
  for (;;) {
    try {
      const path = "/v1/stream" + (last === null ? "" : "?from=" + last);
      const response = await api(path);
      if (!response.ok) throw new Error("stream: " + response.status);
      status("● live", "ok");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        let end;
        while ((end = text.indexOf("\n\n")) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          let name = "message";
          let data = null;
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data = JSON.parse(line.slice(6));
          }
          if (data === null) continue;
          if (name === "decision") last = data.index;
          if (handlers[name]) handlers[name](data);
        }
      }
    } catch (error) {
      console.warn(error);
    }
    status("○ reconnecting…", "bad");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// ---- Live ------------------------------------------------------------------------------

function bar(label, id) {
  return el("div", { class: "bar", id },
    el("div", { class: "bar-label" }, el("span", { text: label }), el("strong", { class: "value", text: "–" })),
    el("div", { class: "track", role: "img", "aria-label": label },
      el("div", { class: "fill" }), el("div", { class: "budget", title: "budget" })),
    el("small", { class: "note", text: "" }));
}

function setBar(id, value, fraction, budgetFraction, text, note, over) {
  const node = document.getElementById(id);
  $(".value", node).textContent = text;
  $(".fill", node).style.width = Math.max(0, Math.min(1, fraction)) * 100 + "%";
  const budget = $(".budget", node);
  budget.hidden = budgetFraction === null;
  if (budgetFraction !== null) budget.style.left = Math.min(1, budgetFraction) * 100 + "%";
  node.classList.toggle("over", !!over);
  $(".note", node).textContent = (over ? "✗ over budget · " : "") + note;
}

function decisionRow(d) {
  const anomalous = d.anomalies.length > 0;
  const top = d.top.map((c) => c.feature + " " + (c.contribution >= 0 ? "+" : "") + c.contribution.toFixed(3)).join(", ");
  return el("tr", { class: anomalous ? "anomalous" : "", "data-index": String(d.index) },
    el("td", {}, el("time", { text: clock(d.time_ns) })),
    el("td", {}, el("a", { href: "/decisions/" + d.index, text: d.decision })),
    el("td", { class: "num", text: pct(d.confidence) }),
    el("td", { class: "top", text: top || "–" }),
    el("td", {}, ...d.anomalies.map((a) => el("span", { class: "badge warn", text: "⚠ " + a.replace(/_/g, " ") }))));
}

function live() {
  main.replaceChildren(
    el("h1", { text: "Decision stream" }),
    el("section", { class: "bars", "aria-label": "Rates against the budgets" },
      bar("Decisions / s", "rate"), bar("Latency p50", "p50"), bar("Latency p99", "p99"), bar("Mean confidence", "confidence")),
    el("p", { id: "sampling", class: "note" }),
    el("h2", { text: "Latest decisions" }),
    el("div", { class: "scroll" },
      el("table", { id: "latest" },
        el("thead", {}, el("tr", {}, ...["Time", "Decision", "Confidence", "Top contributions", "Anomalies"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody"))));
  let peak = 1;
  const body = $("#latest tbody");
  follow({
    decision(d) {
      body.prepend(decisionRow(d));
      while (body.rows.length > 50) body.deleteRow(-1);
    },
    stats(s) {
      peak = Math.max(peak, s.decisions_per_s);
      setBar("rate", s.decisions_per_s, s.decisions_per_s / peak, null, s.decisions_per_s.toFixed(0), s.entries + " entries in the ledger", false);
      const budget = s.budget.latency_p99_us;
      const scale = budget ? budget * 1.25 : Math.max(s.latency_p99_us || 1, 1) * 1.25;
      setBar("p50", s.latency_p50_us, (s.latency_p50_us || 0) / scale, budget ? budget / scale : null, micros(s.latency_p50_us), budget ? "budget " + micros(budget) : "no latency budget", budget && s.latency_p50_us > budget);
      setBar("p99", s.latency_p99_us, (s.latency_p99_us || 0) / scale, budget ? budget / scale : null, micros(s.latency_p99_us), budget ? "budget " + micros(budget) : "no latency budget", budget && s.latency_p99_us > budget);
      const min = s.budget.min_confidence;
      setBar("confidence", s.mean_confidence, s.mean_confidence || 0, min, pct(s.mean_confidence), min ? "budget ≥ " + pct(min) : "no confidence budget", min && s.mean_confidence !== null && s.mean_confidence < min);
      $("#sampling").textContent = `This second: ${s.seen} decisions, ${s.sampled} shown (sampled, anomalies always up to 50/s), ${s.measured} measured · ${s.alerts_open} open alerts`;
    },
  });
}

// ---- Andon -----------------------------------------------------------------------------

function andon() {
  main.replaceChildren(
    el("h1", { text: "Andon board" }),
    el("p", { id: "ack-status", role: "status" }),
    el("section", { id: "open", "aria-label": "Open alerts" }),
    el("h2", { text: "History" }),
    el("div", { class: "scroll" }, el("table", { id: "history" },
      el("thead", {}, el("tr", {}, ...["Time", "Level", "Rule", "Model", "Decision", "Message", "State"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody"))));
  const alerts = new Map();
  const render = () => {
    const all = [...alerts.values()].sort((a, b) => b.time_ns - a.time_ns);
    const open = all.filter((a) => !a.acknowledged);
    const groups = new Map();
    for (const a of open) {
      const key = a.level + " · " + a.rule;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(a);
    }
    const order = { stop: 0, critical: 1, warning: 2 };
    const keys = [...groups.keys()].sort((a, b) => order[groups.get(a)[0].level] - order[groups.get(b)[0].level]);
    $("#open").replaceChildren(
      el("h2", { text: `Open alerts (${open.length})` }),
      ...(open.length === 0 ? [el("p", { class: "ok", text: "✓ No open alert" })] : []),
      ...keys.map((key) => {
        const list = groups.get(key);
        const first = list[0];
        return el("article", { class: "alert " + first.level },
          el("h3", {}, el("span", { class: "level", text: LEVEL[first.level] || first.level }), " ", first.rule.replace(/_/g, " "), " ", el("span", { class: "count", text: "×" + list.length })),
          el("ul", {}, ...list.slice(0, 10).map((a) => el("li", {},
            el("time", { text: clock(a.time_ns) }), " ", a.message, " ",
            a.index !== null ? el("a", { href: "/decisions/" + a.index, text: "#" + a.index }) : null, " ",
            el("button", { type: "button", "data-id": a.id, class: "ack", text: "Acknowledge" })))));
      }));
    $("#history tbody").replaceChildren(...all.map((a) => el("tr", { class: a.level },
      el("td", {}, el("time", { text: clock(a.time_ns) })),
      el("td", { text: LEVEL[a.level] || a.level }),
      el("td", { text: a.rule }),
      el("td", { text: a.model }),
      el("td", {}, a.index !== null ? el("a", { href: "/decisions/" + a.index, text: "#" + a.index }) : "–"),
      el("td", { text: a.message }),
      el("td", { text: a.acknowledged ? "✓ acknowledged" : "open" }))));
  };
  main.addEventListener("click", async (event) => {
    const button = event.target.closest("button.ack");
    if (!button) return;
    const id = button.dataset.id;
    let admin = sessionStorage.getItem(ADMIN) || sessionStorage.getItem(TOKEN);
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch("/v1/alerts/" + encodeURIComponent(id) + "/acknowledge", { method: "POST", headers: headers(admin) });
      if (response.ok) {
        const alert = await response.json();
        alerts.set(alert.id, alert);
        render();
        $("#ack-status").textContent = "✓ Alert " + id + " acknowledged";
        return;
      }
      if (response.status !== 403 && response.status !== 401) {
        $("#ack-status").textContent = "✗ " + (await response.json()).error;
        return;
      }
      admin = window.prompt("Acknowledging needs a token with the admin scope:");
      if (!admin) return;
      sessionStorage.setItem(ADMIN, admin);
    }
    $("#ack-status").textContent = "✗ that token lacks the admin scope";
  });
  json("/v1/alerts").then((board) => {
    for (const a of board.alerts) alerts.set(a.id, a);
    render();
  }).catch((error) => status("✗ " + error.message, "bad"));
  follow({
    alert(a) {
      alerts.set(a.id, a);
      render();
    },
  });
}

// ---- Decision page ---------------------------------------------------------------------

const hexBytes = (hex) => new Uint8Array(hex.match(/../g).map((b) => parseInt(b, 16)));
const toHex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
const b64Bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function sha256(...parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
}

// RFC 9162 §2.1.3.2 (RFC 6962): the root an audit path leads to from leaf `index` of a tree
// of `size` leaves, or null when the path does not fit the tree.
async function rootFromPath(index, size, leaf, path) {
  if (index >= size) return null;
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(new Uint8Array([1]), p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await sha256(new Uint8Array([1]), r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

// The signed note's parts: its text (what is signed), origin, size, root, signature lines.
function parseNote(note) {
  const split = note.lastIndexOf("\n\n");
  const text = note.slice(0, split + 1);
  const [origin, size, root] = text.split("\n");
  const signatures = note.slice(split + 2).split("\n").filter((l) => l.startsWith("— ")).map((l) => {
    const [name, blob] = l.slice(2).split(" ");
    return { name, blob: b64Bytes(blob) };
  });
  return { text, origin, size: BigInt(size), root: b64Bytes(root), signatures };
}

async function verifySignature(note, keyString) {
  if (!keyString) return { ok: null, text: "signature checked server-side (no Ed25519 public key published)" };
  // name+hexid+base64: base64 may hold "+" itself, so split at the first two only.
  const first = keyString.indexOf("+");
  const second = keyString.indexOf("+", first + 1);
  const name = keyString.slice(0, first);
  const key = b64Bytes(keyString.slice(second + 1));
  const signature = note.signatures.find((s) => s.name === name);
  if (!signature || key[0] !== 1) return { ok: false, text: "no Ed25519 signature by " + name };
  let imported;
  try {
    imported = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
  } catch (error) {
    return { ok: null, text: "this browser's SubtleCrypto did not take the Ed25519 key (" + error.name + "): signature checked server-side" };
  }
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, imported, signature.blob.slice(4), new TextEncoder().encode(note.text));
  return { ok, text: ok ? "Ed25519 signature by " + name + " verified in your browser" : "Ed25519 signature by " + name + " does NOT verify" };
}

// Checks the proof of `body` (a /v1/decisions/{index} answer) in the browser.
async function verifyInBrowser(body, keyString) {
  const proof = body.proof;
  const steps = [];
  const leaf = hexBytes(proof.leaf);
  if (body.entry_hex !== undefined) {
    const computed = await sha256(new Uint8Array([0]), hexBytes(body.entry_hex));
    steps.push({ ok: toHex(computed) === proof.leaf, text: "leaf hash = SHA-256(0x00 ‖ entry)" });
  }
  const root = await rootFromPath(proof.index, proof.tree_size, leaf, proof.proof.map(hexBytes));
  const note = parseNote(proof.checkpoint);
  steps.push({ ok: root !== null && toHex(root) === toHex(note.root) && note.size === BigInt(proof.tree_size),
    text: "root recomputed from the leaf and " + proof.proof.length + " audit-path hashes = the signed checkpoint's root (size " + note.size + ")" });
  steps.push(await verifySignature(note, keyString));
  return { ok: steps.every((s) => s.ok !== false), steps, root: root ? toHex(root) : null };
}

function renderValue(value) {
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === "object" && value[0] !== null && !Array.isArray(value[0])) {
      const keys = [...new Set(value.flatMap((v) => Object.keys(v)))];
      return el("div", { class: "scroll" }, el("table", {},
        el("thead", {}, el("tr", {}, ...keys.map((k) => el("th", { scope: "col", text: k })))),
        el("tbody", {}, ...value.map((v) => el("tr", {}, ...keys.map((k) => el("td", {}, renderValue(v[k]))))))));
    }
    return document.createTextNode(value.map((v) => (typeof v === "number" ? +v.toFixed(4) : JSON.stringify(v))).join(", "));
  }
  if (value !== null && typeof value === "object") {
    return el("dl", {}, ...Object.entries(value).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, renderValue(v))]));
  }
  return document.createTextNode(typeof value === "number" ? String(+value.toFixed(6)) : String(value));
}

async function decision() {
  const index = document.body.dataset.index;
  main.replaceChildren(el("h1", { text: "Decision #" + index }), el("p", { text: "Loading…" }));
  let body, health;
  try {
    [body, health] = await Promise.all([json("/v1/decisions/" + index), json("/v1/health")]);
  } catch (error) {
    main.replaceChildren(el("h1", { text: "Decision #" + index }), el("p", { class: "bad", text: "✗ " + error.message }));
    return;
  }
  const x = body.explained || {};
  const trace = body.trace || {};
  const sections = [el("h1", { text: "Decision #" + index })];
  if (body.kind) sections.push(el("p", { text: "This entry is a " + body.kind + " record, not a decision." }));
  if (trace.path) {
    sections.push(el("section", { class: "summary" },
      el("p", { class: "big" }, el("strong", { text: x.decision || String(trace.output) }), " · ", pct(x.confidence), " confident"),
      el("p", { text: `${x.model || ""} · sequence ${trace.sequence} · ${new Date(Number(BigInt(trace.timestamp_ns) / 1000000n)).toISOString()} · ${micros(x.latency_us)}` }),
      x.rationale ? el("p", { class: "rationale", text: x.rationale }) : null,
      x.alternatives && x.alternatives.length ? el("p", { text: "Alternatives: " + x.alternatives.map(([d, p]) => d + " " + pct(p)).join(", ") }) : null));
    if (x.contributions && x.contributions.length) {
      const peak = Math.max(...x.contributions.map(([, v]) => Math.abs(v)), 1e-9);
      sections.push(el("section", {}, el("h2", { text: "Attributions" }),
        el("p", { class: "note", text: "From the decision path (" + trace.path.type + "); exact attributions from the model file are in the incident report." }),
        el("table", { class: "attributions" }, el("tbody", {}, ...x.contributions.map(([f, v]) => el("tr", {},
          el("th", { scope: "row", text: f }),
          el("td", { class: "num", text: (v >= 0 ? "+" : "") + v.toFixed(4) }),
          el("td", {}, el("span", { class: "contribution " + (v >= 0 ? "up" : "down"), style: "width:" + (Math.abs(v) / peak) * 100 + "%", text: v >= 0 ? "▶" : "◀" }))))))));
    }
    sections.push(el("section", {}, el("h2", { text: "Full path" }), renderValue(trace.path)));
  }
  const proofSection = el("section", { id: "proof" }, el("h2", { text: "Inclusion proof" }));
  sections.push(proofSection);
  main.replaceChildren(...sections);
  if (!body.proof) {
    proofSection.append(el("p", { text: "No checkpoint covers this entry yet: " + (body.proof_error || "") }));
    return;
  }
  const p = body.proof;
  proofSection.append(
    el("dl", {},
      el("dt", { text: "Leaf hash" }), el("dd", {}, el("code", { text: p.leaf })),
      el("dt", { text: "Tree size" }), el("dd", { text: String(p.tree_size) }),
      el("dt", { text: "Root" }), el("dd", {}, el("code", { text: p.root })),
      el("dt", { text: "Audit path" }), el("dd", {}, el("ol", {}, ...p.proof.map((h) => el("li", {}, el("code", { text: h })))))),
    el("h3", { text: "Signed checkpoint" }), el("pre", { text: p.checkpoint }),
    el("p", { id: "verification", class: "pending", role: "status", text: "Verifying in your browser…" }));
  const result = await verifyInBrowser(body, health.verifier_key);
  const verdict = $("#verification");
  verdict.className = result.ok ? "verified" : "failed";
  verdict.replaceChildren(
    el("strong", { text: result.ok ? "✓ Verified in your browser" : "✗ NOT verified: the proof does not lead to the signed root" }),
    el("ul", {}, ...result.steps.map((s) => el("li", { text: (s.ok === true ? "✓ " : s.ok === false ? "✗ " : "• ") + s.text }))));
}

// ---- Health ----------------------------------------------------------------------------

async function health() {
  main.replaceChildren(el("h1", { text: "Ledger health" }), el("p", { text: "Loading…" }));
  const render = (h) => {
    const rows = [
      ["Entries", h.entries + " (" + h.durable + " durable)"],
      ["Last checkpoint", h.checkpoint ? "size " + h.checkpoint.size + " · root " + h.checkpoint.root.slice(0, 16) + "…" : "none yet"],
      ["Checkpoint age", h.checkpoint_seen ? h.checkpoint_seen.age_s.toFixed(0) + " s (since this server first saw it)" : "–"],
      ["Last verification", (h.verification.status === "intact" ? "✓ " : h.verification.status === "broken" ? "✗ " : "… ") + (h.verification.result || h.verification.status) +
        (h.verification.finished_ns ? " · at " + new Date(Number(BigInt(h.verification.finished_ns) / 1000000n)).toISOString() : "")],
      ["Durability", h.durability + " (" + h.durability_detail + ")"],
      ["fsync latency", h.fsync.count ? `mean ${micros(h.fsync.mean_us)} · last ${micros(h.fsync.last_us)} · max ${micros(h.fsync.max_us)} over ${h.fsync.count}` : "no fsync yet"],
      ["Writes", h.ready ? "✓ accepted" : "✗ refused: " + h.fault],
      ["Checkpoint key", h.verifier_key || "– (HMAC or none: not published)"],
      ["Models", h.models.join(", ") || "–"],
    ];
    main.replaceChildren(el("h1", { text: "Ledger health" }),
      el("table", { class: "health" }, el("tbody", {}, ...rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: v }))))));
  };
  for (;;) {
    try {
      render(await json("/v1/health"));
      status("● refreshed " + new Date().toISOString().slice(11, 19), "ok");
    } catch (error) {
      status("✗ " + error.message, "bad");
    }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}

// ---- Incident (server-rendered; the script only brings the token) ----------------------

async function incident() {
  if (document.body.dataset.authorized !== "true" && location.search.includes("at=")) {
    const url = new URL(location.href);
    url.searchParams.set("part", "main");
    const response = await api(url.pathname + url.search);
    if (response.ok) main.innerHTML = await response.text();
  }
  // Downloads need the token too: fetched, then saved from a blob.
  main.addEventListener("click", async (event) => {
    const link = event.target.closest("a.download");
    if (!link || !sessionStorage.getItem(TOKEN)) return;
    event.preventDefault();
    const response = await api(link.getAttribute("href"));
    const blob = await response.blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: link.getAttribute("download") });
    document.body.append(a);
    a.click();
    a.remove();
  });
}

({ live, andon, decision, health, incident })[view]();
