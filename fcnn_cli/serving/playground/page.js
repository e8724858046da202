"use strict";
// fcnn playground's page. It computes nothing itself: the server trains (fcnn's own core),
// streams frames over SSE and answers the inspector; this file only draws what it is sent.
// The whole state lives in the URL's query string, the server's canonical keys.

const $ = (id) => document.getElementById(id);

const ORANGE = [245, 147, 34];   // TensorFlow Playground's colours: negative / class 0
const PALE = [232, 234, 235];
const BLUE = [8, 119, 189];      // positive / class 1
const CLASS_COLOURS = [ORANGE, BLUE, [46, 160, 67], [142, 68, 173], [214, 39, 40],
  [23, 190, 207], [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34]];
const CHOICES = {
  lr: ["0.00001", "0.0001", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "3", "10"],
  l2: ["0", "0.0001", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1"],
  batch: ["1", "2", "5", "10", "20", "30", "50", "100", "250", "1000"],
  samples: ["50", "100", "200", "500", "1000", "2000", "5000"],
};
const ACTIVATIONS = ["tanh", "sigmoid", "relu", "leaky-relu", "prelu", "swish", "linear",
  "softmax"];
const DROPOUTS = ["0", "0.1", "0.2", "0.3", "0.5"];
const MAX_LAYERS = 6;
const MAX_UNITS = 16;
const INSPECT_EVERY_MS = 300;   // the inspector follows a playing network ~3 times a second
const NEW_LAYER_UNITS = 2;

let info = null;        // the current session's description (POST /api/sessions)
let params = new URLSearchParams();  // its canonical query: the source of every control
let events = null;      // its EventSource
let frame = null;       // the latest frame drawn
let drawQueued = false;
let generation = 0;     // newer session requests win over older answers arriving late
let knownCsv = null;    // the last CSV name the server knew, to come back to
let selected = null;    // the inspected neuron {layer, unit}
let point = "test:0";   // the inspected example
let edgeLines = [];     // edgeLines[l][j][k]: the SVG line for w^l_jk
let restartedAt = 0;
let hovered = null;     // the neuron under the mouse: shown large on the boundary's canvas

// ---- talking to the server -------------------------------------------------------------

async function call(path, init = {}) {
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new Error(`could not reach the server (${error.message}): is fcnn playground running?`);
  }
  const text = await response.text();
  let data = null;
  try { data = JSON.parse(text); } catch { /* reported below */ }
  if (!response.ok) {
    const detail = data && (data.error ?? data.detail);
    const error = new Error(typeof detail === "string" ? detail
      : `the server answered ${response.status} ${response.statusText}`.trim());
    error.status = response.status;
    throw error;
  }
  if (data === null) throw new Error(`${path} answered something that is not JSON`);
  return data;
}

const post = (path, body) => call(path, body === undefined ? { method: "POST" } : {
  method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
});

function showError(message) {
  // One line: the server's message says what is wrong and how to fix it.
  $("error").textContent = String(message).split("\n")[0];
  $("error").hidden = false;
}
function clearError() { $("error").hidden = true; }
function showNotice(message) {
  $("notice").textContent = message;
  $("notice").hidden = !message;
}

// ---- sessions: one per state; a changed control is a new session -----------------------

async function startSession(query) {
  const mine = ++generation;
  let hello;
  try {
    hello = await post("api/sessions", { query });
  } catch (error) {
    if (mine === generation) {
      showError(error.message);
      applyControls();  // the controls show what still runs
      if (info) { buildNetwork(); draw(); }
    }
    return false;
  }
  if (mine !== generation) { closeSession(hello.session); return true; }
  clearError();
  const old = info;
  switchTo(hello);
  if (old) closeSession(old.session);
  return true;
}

function closeSession(id) {
  fetch(`api/sessions/${id}`, { method: "DELETE" }).catch(() => {});
}

function switchTo(hello) {
  if (events) events.close();
  info = hello;
  for (const id of ["play", "step", "reset"]) $(id).disabled = false;  // (none before a session)
  params = new URLSearchParams(hello.query);
  if (params.get("dataset") === "csv" && params.get("csv")) knownCsv = params.get("csv");
  history.replaceState(null, "", `?${hello.query}${location.hash}`);
  frame = null;
  applyControls();
  applyHides();
  showWarnings(hello.warnings || []);
  buildNetwork();
  buildLegend();
  setLinks();
  showNotice("");
  if (selected && !unitExists(selected.layer, selected.unit)) selected = null;
  point = "test:0";
  if (!hello.points.test.length) point = "train:0";
  clearInspector();
  listen(hello.session);
}

function listen(id) {
  events = new EventSource(`api/sessions/${id}/events`);
  events.addEventListener("frame", (event) => {
    if (!info || info.session !== id) return;
    if (!keep(JSON.parse(event.data))) return;
    if (!drawQueued) { drawQueued = true; requestAnimationFrame(draw); }
  });
  // A closed stream is a session the server no longer has (idle, or the server
  // restarted): start the same state again rather than leave a dead page.
  const restart = () => {
    if (!info || info.session !== id) return;
    events.close();
    if (Date.now() - restartedAt < 5000) {
      showError("lost the connection to the server: is fcnn playground still running? " +
        "Reload the page once it is.");
      return;
    }
    restartedAt = Date.now();
    startSession(params.toString()).then((started) => {
      if (started) showNotice("The server had closed this run: it starts again from epoch 0.");
    });
  };
  events.addEventListener("closed", restart);
  events.onerror = () => { if (events.readyState === EventSource.CLOSED) restart(); };
}

// The stream and a control's answer race: a pause's answer may come after the frame of
// the epoch that was still running. Only a newer frame (higher version) replaces the one shown.
function keep(next) {
  if (frame && next.version <= frame.version) return false;
  frame = next;
  return true;
}

async function command(name) {
  if (!info) return;
  try {
    if (keep(await post(`api/sessions/${info.session}/${name}`))) draw();
  } catch (error) {
    showError(error.message);
  }
}

// ---- controls <-> the URL's query --------------------------------------------------------

function ensureOption(select, value, label = value) {
  if (![...select.options].some((o) => o.value === value)) {
    const option = new Option(label, value);
    const after = [...select.options].find((o) => Number(o.value) > Number(value));
    select.insertBefore(option, after ?? null);
  }
  select.value = value;
}

function fillSelect(select, values) {
  select.replaceChildren(...values.map((v) => new Option(v, v)));
}

function listOf(key, count) {
  const raw = (params.get(key) ?? "").split(",").filter((s) => s !== "");
  return Array.from({ length: count }, (_, i) => raw[Math.min(i, raw.length - 1)] ?? "");
}

function hiddenUnits() {
  const text = params.get("layers") ?? "";
  return text === "" ? [] : text.split(",").map(Number);
}

/** Set every control from `params` (the state the current session runs). */
function applyControls() {
  const dataset = params.get("dataset") ?? "circle";
  $("dataset").value = dataset;
  const isCsv = dataset === "csv";
  $("csv-box").hidden = !isCsv || hideOf("csv");
  $("csv-name").textContent = params.get("csv") ? `Using ${params.get("csv")}.`
    : "No CSV yet: upload one.";
  document.querySelectorAll(".generated").forEach((el) => { el.hidden = isCsv || hideOf(
    el.dataset.control); });
  for (const key of ["samples", "batch", "lr", "l2"]) {
    if (params.has(key)) ensureOption($(key), params.get(key));
  }
  for (const key of ["optimizer", "init", "output", "cost"]) {
    if (params.has(key)) ensureOption($(key), params.get(key));
  }
  for (const key of ["noise", "train"]) {
    if (params.has(key)) $(key).value = params.get(key);
  }
  showRange("noise", (v) => v);
  showRange("train", (v) => `${v} %`);
  $("seed").value = params.get("seed") ?? "";
}

function showRange(key, text) {
  const value = params.get(key) ?? $(key).value;
  $(`${key}-value`).textContent = text(value);
}

const hideOf = (key) => params.get(`${key}_hide`) === "true";

/** A teacher's link hides controls with `<key>_hide=true`. */
function applyHides() {
  document.querySelectorAll("[data-control]").forEach((el) => {
    if (hideOf(el.dataset.control)) el.hidden = true;
    else if (!el.classList.contains("generated") && el.id !== "csv-box") el.hidden = false;
  });
  if (params.get("dataset") !== "csv") $("csv-box").hidden = true;
}

/** A control changed: the same query with `changes` (null deletes), as a new session. */
function change(changes) {
  const next = new URLSearchParams(params);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) next.delete(key); else next.set(key, value);
  }
  startSession(next.toString());
}

function sameOrList(values) {
  return values.every((v) => v === values[0]) ? (values[0] ?? "") : values.join(",");
}

function changeLayers(units, activations, dropouts) {
  if (!units.length) {
    change({ layers: "", activation: params.get("activation")?.split(",")[0] ?? "tanh",
      dropout: "0" });
    return;
  }
  change({ layers: units.join(","), activation: sameOrList(activations),
    dropout: sameOrList(dropouts) });
}

function editLayers(edit) {
  const units = hiddenUnits();
  const activations = listOf("activation", units.length);
  const dropouts = listOf("dropout", units.length);
  edit(units, activations, dropouts);
  changeLayers(units, activations.map((a) => a || "tanh"), dropouts.map((d) => d || "0"));
}

function wireControls() {
  fillSelect($("lr"), CHOICES.lr);
  fillSelect($("l2"), CHOICES.l2);
  fillSelect($("batch"), CHOICES.batch);
  fillSelect($("samples"), CHOICES.samples);
  fillSelect($("output"), ACTIVATIONS);
  $("dataset").addEventListener("change", () => {
    const dataset = $("dataset").value;
    if (dataset === "csv") {
      $("csv-box").hidden = false;
      document.querySelectorAll(".generated").forEach((el) => { el.hidden = true; });
      if (knownCsv) change({ dataset, csv: knownCsv, samples: null, noise: null });
      else $("csv-name").textContent = "No CSV yet: upload one.";
      return;
    }
    change({ dataset, csv: null });
  });
  for (const key of ["samples", "batch", "lr", "l2", "optimizer", "init", "output", "cost",
    "noise", "train", "seed"]) {
    $(key).addEventListener("change", () => change({ [key]: $(key).value }));
  }
  $("noise").addEventListener("input", () => { $("noise-value").textContent = $("noise").value; });
  $("train").addEventListener("input", () => {
    $("train-value").textContent = `${$("train").value} %`;
  });
  $("reseed").addEventListener("click", () => {
    change({ seed: String(Math.floor(Math.random() * 100000)) });
  });
  $("csv-file").addEventListener("change", uploadCsv);
  $("add-layer").addEventListener("click", () => editLayers((units, acts, drops) => {
    if (units.length >= MAX_LAYERS) return;
    units.push(NEW_LAYER_UNITS);
    acts.push(acts.at(-1) || "tanh");
    drops.push(drops.at(-1) || "0");
  }));
  $("remove-layer").addEventListener("click", () => editLayers((units, acts, drops) => {
    units.pop(); acts.pop(); drops.pop();
  }));
  $("play").addEventListener("click", () => command(frame?.playing ? "pause" : "play"));
  $("step").addEventListener("click", () => command("step"));
  $("reset").addEventListener("click", () => command("reset"));
  $("show-test").addEventListener("change", drawBoundary);
  $("boundary").addEventListener("click", pickPoint);
  $("copy-link").addEventListener("click", copyLink);
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, select, textarea, button, a");
    if (event.key === " " && !typing) { event.preventDefault(); $("play").click(); }
  });
}

async function uploadCsv() {
  const file = $("csv-file").files[0];
  if (!file) return;
  const body = new FormData();
  body.append("file", file);
  try {
    const answer = await call("api/csv", { method: "POST", body });
    knownCsv = answer.csv;
    change({ dataset: "csv", csv: answer.csv, samples: null, noise: null });
  } catch (error) {
    showError(error.message);
  } finally {
    $("csv-file").value = "";
  }
}

function setLinks() {
  const base = `api/sessions/${info.session}`;
  $("export-config").href = `${base}/config.yaml`;
  $("export-config").download = `playground-${params.get("dataset")}.yaml`;
  $("download-model").href = `${base}/model.h5`;
  $("download-model").download = `playground-${params.get("dataset")}.h5`;
}

async function copyLink() {
  try {
    await navigator.clipboard.writeText(location.href);
    showNotice("Link copied: it opens this very network, seed and settings included.");
  } catch {
    showNotice(`Copy this link: ${location.href}`);
  }
}

function showWarnings(lines) {
  $("warnings").replaceChildren(...lines.map((line) => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
  $("warnings").hidden = lines.length === 0;
}

// ---- the network: columns of neurons, edges, per-layer controls ---------------------------

const LUT = colourScale();

function colourScale() {
  const table = new Uint8ClampedArray(256 * 3);
  for (let v = 0; v < 256; v++) {
    const t = v / 255;
    const [from, to, s] = t < 0.5 ? [ORANGE, PALE, t * 2] : [PALE, BLUE, (t - 0.5) * 2];
    for (let c = 0; c < 3; c++) table[v * 3 + c] = from[c] + (to[c] - from[c]) * s;
  }
  return table;
}

function unitExists(layer, unit) {
  return info && layer >= 0 && layer < info.architecture.length && unit >= 1 &&
    unit <= info.architecture[layer];
}

function layerName(l) {
  const last = info.architecture.length - 1;
  if (l === 0) return "Inputs";
  return l === last ? "Output" : `Layer ${l}`;
}

function buildNetwork() {
  const arch = info.architecture;
  const last = arch.length - 1;
  const units = hiddenUnits();
  const activations = listOf("activation", units.length);
  const dropouts = listOf("dropout", units.length);
  $("layer-count").textContent = `${units.length} hidden layer${units.length === 1 ? "" : "s"}`;
  $("add-layer").disabled = units.length >= MAX_LAYERS;
  $("remove-layer").disabled = units.length === 0;
  const columns = arch.map((size, l) => {
    const column = document.createElement("div");
    column.className = "layer";
    const head = document.createElement("div");
    head.className = "layer-head";
    head.append(textDiv("layer-title", layerName(l)));
    if (l === 0) head.append(textDiv("muted", "layer 0"), textDiv("muted", "standardised"));
    else if (l === last) head.append(textDiv("muted", `layer ${l}`),
      textDiv("muted", `f = ${info.activations[l - 1]}`));
    else head.append(...layerControls(l, units, activations, dropouts));
    const nodes = document.createElement("div");
    nodes.className = "nodes";
    for (let j = 1; j <= size; j++) nodes.append(node(l, j));
    const diag = document.createElement("div");
    diag.className = "diag";
    diag.id = `diag-${l}`;
    column.append(head, nodes, diag);
    return column;
  });
  $("layers").replaceChildren(...columns);
  applyHides();
  buildEdges();
}

function textDiv(className, text) {
  const div = document.createElement("div");
  div.className = className;
  div.textContent = text;
  return div;
}

function layerControls(l, units, activations, dropouts) {
  const i = l - 1;
  const buttons = document.createElement("div");
  buttons.className = "unit-buttons";
  buttons.dataset.control = "layers";
  const minus = miniButton("−", `Remove a neuron from layer ${l}`, units[i] <= 1, () =>
    editLayers((u) => { u[i] -= 1; }));
  const plus = miniButton("+", `Add a neuron to layer ${l}`, units[i] >= MAX_UNITS, () =>
    editLayers((u) => { u[i] += 1; }));
  minus.dataset.testid = `remove-unit-${l}`;
  plus.dataset.testid = `add-unit-${l}`;
  const count = textDiv("small", `${units[i]}`);
  count.append(longWord(` neuron${units[i] === 1 ? "" : "s"}`, ""));
  buttons.append(minus, count, plus);
  const activation = labelledSelect("f", ACTIVATIONS, activations[i], "activation",
    `Activation f of layer ${l}`, (value) => editLayers((u, acts) => { acts[i] = value; }));
  activation.querySelector("select").dataset.testid = `activation-${l}`;
  const dropout = labelledSelect("p", DROPOUTS, dropouts[i], "dropout",
    `Dropout p of layer ${l}: the share of its neurons switched off at each training step`,
    (value) => editLayers((u, acts, drops) => { drops[i] = value; }));
  return [buttons, activation, dropout];
}

function miniButton(text, title, disabled, onClick) {
  const button = document.createElement("button");
  Object.assign(button, { type: "button", className: "mini", textContent: text, title, disabled });
  button.setAttribute("aria-label", title);
  button.addEventListener("click", onClick);
  return button;
}

function labelledSelect(text, values, value, control, title, onChange) {
  const label = document.createElement("label");
  label.dataset.control = control;
  label.title = title;
  const select = document.createElement("select");
  fillSelect(select, values);
  ensureOption(select, value);
  select.setAttribute("aria-label", title);
  select.addEventListener("change", () => onChange(select.value));
  label.append(text, select);
  return label;
}

function node(l, j) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = l === 0 ? "node input" : "node";
  button.dataset.testid = `neuron-${l}-${j}`;
  button.dataset.layer = l;
  button.dataset.unit = j;
  const name = l === 0 ? (info.features[j - 1] ?? `x${j}`) : `a${sup(l)}${sub(j)}`;
  button.title = l === 0 ? `input ${name} over the plane`
    : `neuron ${j} of layer ${l}: its activation ${name} over the plane; click to inspect`;
  button.setAttribute("aria-label", button.title);
  const canvas = document.createElement("canvas");
  canvas.width = info.grid; canvas.height = info.grid;
  const label = document.createElement("span");
  label.className = "node-label";
  label.textContent = name;
  button.append(canvas, label);
  if (selected && selected.layer === l && selected.unit === j) button.classList.add("selected");
  button.addEventListener("click", () => selectNeuron(l, j));
  // As in Playground: hovering a neuron shows its picture large, behind the data.
  button.addEventListener("pointerenter", (event) => {
    if (event.pointerType !== "mouse") return;  // a tap selects; it does not hover
    hovered = { layer: l, unit: j };
    drawBoundary();
  });
  button.addEventListener("pointerleave", () => { hovered = null; drawBoundary(); });
  return button;
}

const SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const SUB = "₀₁₂₃₄₅₆₇₈₉";
const sup = (n) => String(n).split("").map((d) => SUP[d]).join("");
const sub = (n) => String(n).split("").map((d) => SUB[d]).join("");

function buildEdges() {
  const svg = $("edges");
  svg.replaceChildren();
  edgeLines = [[]];
  const arch = info.architecture;
  const ns = "http://www.w3.org/2000/svg";
  for (let l = 1; l < arch.length; l++) {
    edgeLines.push(Array.from({ length: arch[l] }, () => Array.from({ length: arch[l - 1] },
      () => {
        const line = document.createElementNS(ns, "line");
        line.setAttribute("stroke", "#c4cad3");
        line.setAttribute("stroke-width", "1");
        svg.append(line);
        return line;
      })));
  }
  layoutEdges();
}

/** Place the edges between the nodes' current positions (after any layout change). */
function layoutEdges() {
  if (!info) return;
  const network = $("network").getBoundingClientRect();
  const svg = $("edges");
  svg.setAttribute("width", network.width);
  svg.setAttribute("height", network.height);
  const box = (l, j) => document.querySelector(`[data-testid="neuron-${l}-${j}"]`)
    ?.getBoundingClientRect();
  for (let l = 1; l < edgeLines.length; l++) {
    edgeLines[l].forEach((row, j) => row.forEach((line, k) => {
      const to = box(l, j + 1);
      const from = box(l - 1, k + 1);
      if (!to || !from) return;
      line.setAttribute("x1", from.right - network.left);
      line.setAttribute("y1", from.top + from.height / 2 - network.top);
      line.setAttribute("x2", to.left - network.left);
      line.setAttribute("y2", to.top + to.height / 2 - network.top);
    }));
  }
}

/** w^l as rows j (units of layer l), columns k (units of layer l-1), whatever its layout. */
function weightRows(entry) {
  const arch = info.architecture;
  const w = entry.w;
  const rows = arch[entry.layer];
  const cols = arch[entry.layer - 1];
  if (w.length === rows && (w[0]?.length ?? 0) === cols) return w;
  return Array.from({ length: rows }, (_, j) => Array.from({ length: cols }, (_, k) => w[k][j]));
}

function drawEdges() {
  for (const entry of frame.weights ?? []) {
    const lines = edgeLines[entry.layer];
    if (!lines) continue;
    weightRows(entry).forEach((row, j) => row.forEach((w, k) => {
      const line = lines[j]?.[k];
      if (!line) return;
      const size = w === null ? 0 : Math.abs(w);
      line.setAttribute("stroke", w === null ? "#d62728" : w >= 0 ? "#0877bd" : "#f59322");
      line.setAttribute("stroke-width", Math.min(8, 0.5 + 1.8 * size).toFixed(2));
      line.setAttribute("stroke-opacity", Math.min(0.9, 0.35 + 0.3 * size).toFixed(2));
    }));
  }
}

// ---- drawing a frame ----------------------------------------------------------------------

function bytes(base64) {
  const text = atob(base64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

const percent = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)} %`);

function number(x) {
  if (x === null || x === undefined) return "–";
  const size = Math.abs(x);
  if (size !== 0 && (size < 1e-3 || size >= 1e5)) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

/** A new weight beside its old one: enough digits to see the step η ∂C/∂w. */
function precise(x) {
  if (x === null || x === undefined) return "–";
  return Math.abs(x) >= 1e-3 || x === 0 ? String(Number(x.toPrecision(6))) : x.toExponential(4);
}

function longWord(long, short) {
  const span = document.createElement("span");
  span.append(Object.assign(document.createElement("span"), { className: "long",
    textContent: long }));
  if (short) {
    span.append(Object.assign(document.createElement("span"), { className: "short",
      textContent: short }));
  }
  return span;
}

function draw() {
  drawQueued = false;
  if (!frame || !info) return;
  $("epoch").textContent = frame.epoch.toLocaleString("en");
  $("rate").textContent = frame.playing && frame.updates_per_s
    ? `${frame.updates_per_s.toFixed(1)} epochs/s` : "";
  const play = $("play");
  play.setAttribute("aria-pressed", String(frame.playing));
  play.setAttribute("aria-label", frame.playing ? "Pause" : "Play");
  play.title = frame.playing ? "Pause" : "Play";
  $("test-loss").textContent = number(frame.test?.loss ?? null);
  $("train-loss").textContent = number(frame.train?.loss ?? null);
  $("test-accuracy").textContent = percent(frame.test?.accuracy ?? null);
  $("train-accuracy").textContent = percent(frame.train?.accuracy ?? null);
  if (frame.stopped) {
    const stop = /[.!?]$/.test(frame.stopped) ? "" : ".";
    showNotice(`Stopped: ${frame.stopped}${stop} Press reset (↺) to start again.`);
  } else if ($("notice").textContent.startsWith("Stopped:")) {
    showNotice("");
  }
  drawChart();
  drawBoundary();
  drawNeurons();
  drawEdges();
  drawDiagnostics();
  if (selected) requestInspect();
}

function drawNeurons() {
  const size = info.grid;
  for (const neuron of frame.neurons ?? []) {
    const canvas = document.querySelector(
      `[data-testid="neuron-${neuron.layer}-${neuron.unit}"] canvas`);
    if (!canvas) continue;
    const values = bytes(neuron.image);
    const context = canvas.getContext("2d");
    const image = context.createImageData(size, size);
    for (let i = 0; i < values.length; i++) {
      image.data.set(LUT.subarray(values[i] * 3, values[i] * 3 + 3), i * 4);
      image.data[i * 4 + 3] = 255;
    }
    context.putImageData(image, 0, 0);
  }
}

function drawDiagnostics() {
  for (let l = 1; l < info.architecture.length; l++) {
    const box = $(`diag-${l}`);
    const d = (frame.diagnostics ?? []).find((entry) => entry.layer === l);
    if (!box) continue;
    if (!d) { box.textContent = ""; continue; }
    const parts = [`<span title="speed of learning: the size of this layer's gradient ∂C/∂b">` +
      `speed <b>${number(d.speed)}</b></span>`];
    const word = (long, short) => `<span class="long">${long}</span><span class="short">` +
      `${short}</span>`;
    // A saturated output layer learns fine with cross-entropy or log-likelihood (δ = a − y):
    // only hidden layers, or outputs under the quadratic cost, are flagged.
    const harmful = l < info.architecture.length - 1 || info.cost === "quadratic";
    const share = (name, value, tip) => {
      if (value === null || value === undefined) return;
      const bad = value >= 0.5 && harmful ? " class=\"bad\"" : "";
      parts.push(`<span title="${tip}"${bad}>${name} <b>${(100 * value).toFixed(0)} %</b></span>`);
    };
    share(word("saturated", "sat."), d.saturated, "neurons whose f′(z) is nearly 0: they barely learn");
    share("dead", d.dead, "ReLU neurons that output 0 for every example: they never learn");
    box.innerHTML = parts.join("<br>");
  }
}

function fitCanvas(canvas) {
  const scale = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * scale));
  const height = Math.max(1, Math.round(canvas.clientHeight * scale));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width; canvas.height = height;
  }
  return scale;
}

function drawChart() {
  const canvas = $("chart");
  const scale = fitCanvas(canvas);
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const h = frame?.history;
  const epochs = h?.epoch ?? [];
  context.font = `${11 * scale}px system-ui, sans-serif`;
  context.fillStyle = "#5f6b7a";
  if (epochs.length === 0) {
    context.fillText("the losses appear after the first epoch", 4 * scale, height / 2);
    return;
  }
  const finite = (v) => v !== null && Number.isFinite(v);
  const all = [...h.train_loss, ...h.test_loss].filter(finite);
  const top = Math.max(1e-9, ...all);
  const first = epochs[0];
  const span = Math.max(1, epochs.at(-1) - first);
  const pad = 4 * scale;
  const x = (e) => pad + ((e - first) / span) * (width - 2 * pad);
  const y = (v) => height - pad - (v / top) * (height - 2 * pad - 12 * scale);
  for (const [series, colour] of [[h.train_loss, "#9aa4b1"], [h.test_loss, "#232a33"]]) {
    context.strokeStyle = colour;
    context.lineWidth = 1.6 * scale;
    context.beginPath();
    let pen = false;
    series.forEach((v, i) => {
      if (!finite(v)) { pen = false; return; }
      if (pen) context.lineTo(x(epochs[i]), y(v)); else context.moveTo(x(epochs[i]), y(v));
      pen = true;
    });
    context.stroke();
  }
  context.fillText(`loss ≤ ${number(top)}`, pad, 11 * scale);
  const label = `epoch ${epochs.at(-1)}`;
  context.fillText(label, width - pad - context.measureText(label).width, 11 * scale);
}

const mix = (a, b, t) => a.map((v, c) => Math.round(v + (b[c] - v) * t));
const WHITE = [255, 255, 255];
const PALE_LUT = Array.from({ length: 256 }, (_, v) =>
  mix([LUT[v * 3], LUT[v * 3 + 1], LUT[v * 3 + 2]], WHITE, 0.45));

let gridCanvas = null;

function neuronImage(neuron) {
  const n = info.grid;
  gridCanvas ??= document.createElement("canvas");
  gridCanvas.width = n; gridCanvas.height = n;
  const context = gridCanvas.getContext("2d");
  const image = context.createImageData(n, n);
  bytes(neuron.image).forEach((v, i) => {
    image.data.set(PALE_LUT[v], i * 4);
    image.data[i * 4 + 3] = 255;
  });
  context.putImageData(image, 0, 0);
  return gridCanvas;
}

function boundaryImage() {
  const n = info.boundary_grid;
  gridCanvas ??= document.createElement("canvas");
  gridCanvas.width = n; gridCanvas.height = n;
  const context = gridCanvas.getContext("2d");
  const image = context.createImageData(n, n);
  const values = bytes(frame.boundary.values);
  const confidence = frame.boundary.confidence ? bytes(frame.boundary.confidence) : null;
  const k = info.classes.length;
  for (let i = 0; i < values.length; i++) {
    let rgb;
    if (frame.boundary.kind === "classes") {
      const sure = confidence ? (confidence[i] / 255 - 1 / k) / (1 - 1 / k) : 1;
      const colour = CLASS_COLOURS[values[i] % CLASS_COLOURS.length];
      rgb = mix(WHITE, colour, 0.12 + 0.5 * Math.max(0, Math.min(1, sure)));
    } else {
      rgb = PALE_LUT[values[i]];
    }
    image.data.set(rgb, i * 4);
    image.data[i * 4 + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  return gridCanvas;
}

function pointXY(p, width, height) {
  const [lo1, hi1] = info.extent.x1;
  const [lo2, hi2] = info.extent.x2;
  return [((p[0] - lo1) / (hi1 - lo1)) * width, ((hi2 - p[1]) / (hi2 - lo2)) * height];
}

function drawBoundary() {
  if (!info) return;
  const canvas = $("boundary");
  const scale = fitCanvas(canvas);
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.fillStyle = "rgb(232, 234, 235)";
  context.fillRect(0, 0, width, height);
  const neuron = hovered && frame?.neurons?.find((n) => n.layer === hovered.layer &&
    n.unit === hovered.unit);
  context.imageSmoothingEnabled = true;
  if (neuron) context.drawImage(neuronImage(neuron), 0, 0, width, height);
  else if (frame?.boundary) context.drawImage(boundaryImage(), 0, 0, width, height);
  $("boundary-caption").textContent = neuron
    ? `Neuron ${neuron.unit} of layer ${neuron.layer} over the plane`
    : "Decision boundary over the plane";
  const radius = Math.max(2.5, Math.min(4, 900 / (info.points.train.length + 150))) * scale;
  const dot = (p, ring) => {
    const [px, py] = pointXY(p, width, height);
    const colour = CLASS_COLOURS[p[2] % CLASS_COLOURS.length];
    context.beginPath();
    context.arc(px, py, radius, 0, 2 * Math.PI);
    context.fillStyle = `rgb(${colour.join(",")})`;
    context.fill();
    context.lineWidth = (ring ? 1.6 : 1) * scale;
    context.strokeStyle = ring ? "#111" : "#fff";
    context.stroke();
  };
  info.points.train.forEach((p) => dot(p, false));
  if ($("show-test").checked) info.points.test.forEach((p) => dot(p, true));
  const chosen = chosenPoint();
  if (chosen) {
    const [px, py] = pointXY(chosen, width, height);
    context.beginPath();
    context.arc(px, py, radius + 4 * scale, 0, 2 * Math.PI);
    context.lineWidth = 2 * scale;
    context.strokeStyle = "#111";
    context.stroke();
  }
}

function chosenPoint() {
  const [split, index] = point.split(":");
  return info.points[split]?.[Number(index)] ?? null;
}

function pickPoint(event) {
  if (!info) return;
  const canvas = $("boundary");
  const box = canvas.getBoundingClientRect();
  const cx = event.clientX - box.left;
  const cy = event.clientY - box.top;
  let best = null;
  const splits = $("show-test").checked ? ["train", "test"] : ["train"];
  for (const split of splits) {
    info.points[split].forEach((p, i) => {
      const [px, py] = pointXY(p, box.width, box.height);
      const d = (px - cx) ** 2 + (py - cy) ** 2;
      if (!best || d < best.d) best = { d, name: `${split}:${i}` };
    });
  }
  if (!best) return;
  point = best.name;
  drawBoundary();
  if (!selected) selectNeuron(info.architecture.length - 1, 1);
  else inspectNow();
}

function buildLegend() {
  const many = info.classes.length > 2 || params.get("dataset") === "csv";
  $("class-legend").replaceChildren(...(many ? info.classes.map((name, k) => {
    const span = document.createElement("span");
    const dot = document.createElement("i");
    dot.style.background = `rgb(${CLASS_COLOURS[k % CLASS_COLOURS.length].join(",")})`;
    span.append(dot, `class ${name}`);
    return span;
  }) : []));
}

// ---- the inspector --------------------------------------------------------------------------

let inspectBusy = false;
let inspectAgain = false;
let inspectTimer = null;
let inspectedAt = 0;

function selectNeuron(layer, unit) {
  document.querySelectorAll(".node.selected").forEach((el) => el.classList.remove("selected"));
  document.querySelector(`[data-testid="neuron-${layer}-${unit}"]`)?.classList.add("selected");
  selected = { layer, unit };
  if (layer === 0) {
    const body = $("inspector-body");
    body.hidden = false;
    body.replaceChildren(textDiv("inspector-title", `${info.features[unit - 1] ?? `x${unit}`} is ` +
      "an input: it has no z, δ or weights. Click a neuron of a hidden layer or the output."));
    return;
  }
  inspectNow();
}

/** Ask at most every INSPECT_EVERY_MS and never two at once; the last frame always gets one. */
function requestInspect() {
  if (!selected || selected.layer === 0) return;
  if (inspectBusy) { inspectAgain = true; return; }
  const wait = INSPECT_EVERY_MS - (Date.now() - inspectedAt);
  if (wait > 0) {
    inspectTimer ??= setTimeout(() => { inspectTimer = null; inspectNow(); }, wait);
    return;
  }
  inspectNow();
}

async function inspectNow() {
  if (!selected || selected.layer === 0 || !info) return;
  if (inspectBusy) { inspectAgain = true; return; }
  inspectBusy = true;
  inspectedAt = Date.now();
  const id = info.session;
  const { layer, unit } = selected;
  const query = new URLSearchParams({ layer, unit, point });
  try {
    const answer = await call(`api/sessions/${id}/inspect?${query}`);
    if (info.session === id && selected && selected.layer === layer && selected.unit === unit) {
      showInspection(answer);
    }
  } catch (error) {
    if (info.session === id) showError(error.message);
  } finally {
    inspectBusy = false;
    if (inspectAgain) { inspectAgain = false; requestInspect(); }
  }
}

function clearInspector() {
  $("inspector-body").hidden = true;
  $("inspector-body").replaceChildren();
  if (selected) inspectNow();
}

function showInspection(a) {
  const body = $("inspector-body");
  const l = a.layer;
  const j = a.unit;
  const where = `${a.point.split} point #${a.point.index}: x = (${a.point.x.map(number)
    .join(", ")}), label ${a.point.label}`;
  const title = textDiv("inspector-title", `Neuron ${j} of layer ${l} (f = ${a.activation}) · ` +
    `${where} · epoch ${a.epoch}`);
  const values = document.createElement("dl");
  values.className = "values";
  const entry = (name, value, tip) => {
    if (value === null || value === undefined) return;
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = name;
    if (tip) dt.title = tip;
    const dd = document.createElement("dd");
    dd.textContent = typeof value === "number" ? number(value) : value;
    div.append(dt, dd);
    values.append(div);
  };
  entry(`z${sup(l)}${sub(j)} (weighted input)`, a.z);
  entry(`a${sup(l)}${sub(j)} = f(z)`, a.a);
  entry("f′(z)", a.f_prime);
  entry("∂C/∂a", a.dC_da);
  entry(`((w${sup(l + 1)})ᵀδ${sup(l + 1)})${sub(j)}`, a.wT_delta);
  entry(`δ${sup(l)}${sub(j)} (error)`, a.delta, `rule: ${a.delta_rule}`);
  entry(`∂C/∂b${sup(l)}${sub(j)} = δ`, a.dC_db);
  entry(`b → b − η ∂C/∂b (η = ${number(a.eta)})`, `${precise(a.b)} → ${precise(a.b_new)}`);
  const equations = document.createElement("ol");
  equations.className = "equations";
  for (const eq of a.equations ?? []) {
    const item = document.createElement("li");
    item.append(textDiv("name", EQUATION_NAMES[eq.name] ?? eq.name), mathDiv("lecture", eq.lecture),
      ...String(eq.numbers ?? "").split("; ").map((line) => mathDiv("numbers", line)));
    equations.append(item);
  }
  const context = document.createElement("ul");
  context.className = "context small";
  for (const line of a.header ?? []) {
    context.append(Object.assign(document.createElement("li"), { textContent: line }));
  }
  if (a.cost !== undefined && a.cost !== null) {
    context.append(Object.assign(document.createElement("li"), {
      textContent: `cost of this example: C = ${number(a.cost)}` }));
  }
  body.replaceChildren(title, context, values, equations, incomingTable(a), textDiv("note muted small",
    a.note ?? ""));
  body.hidden = false;
}

const EQUATION_NAMES = {
  z: "weighted input", a: "activation", wT_delta: "the error passed back from layer l + 1",
  dC_da: "how the cost changes with the output", delta: "error δ (backpropagation)",
  dC_db: "gradient of the bias", dC_dw: "gradient of each incoming weight",
  update: "one gradient-descent step",
};

/** The server's equation text with ^x and _x (or ^{…}, _{…}) set as super- and subscripts. */
function mathDiv(className, text) {
  const div = document.createElement("div");
  div.className = className;
  const pattern = /([\^_])(\{[^{}]*\}|[A-Za-z0-9]+)/g;
  let at = 0;
  for (const match of String(text ?? "").matchAll(pattern)) {
    div.append(text.slice(at, match.index));
    const script = document.createElement(match[1] === "^" ? "sup" : "sub");
    script.textContent = match[2].replace(/^\{|\}$/g, "");
    div.append(script);
    at = match.index + match[0].length;
  }
  div.append(String(text ?? "").slice(at));
  return div;
}

function incomingTable(a) {
  const l = a.layer;
  const j = a.unit;
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  const table = document.createElement("table");
  table.className = "incoming";
  table.dataset.testid = "incoming";
  const head = table.createTHead().insertRow();
  for (const text of ["from k", `a${sup(l - 1)}ₖ`, `w${sup(l)}${sub(j)}ₖ`,
    `∂C/∂w${sup(l)}${sub(j)}ₖ = a${sup(l - 1)}ₖ δ${sup(l)}${sub(j)}`, "w − η ∂C/∂w"]) {
    const th = document.createElement("th");
    th.textContent = text;
    head.append(th);
  }
  const rows = table.createTBody();
  for (const edge of a.incoming ?? []) {
    const row = rows.insertRow();
    row.insertCell().textContent = String(edge.from);
    for (const value of [edge.a_prev, edge.w, edge.dC_dw]) {
      row.insertCell().textContent = number(value);
    }
    row.insertCell().textContent = precise(edge.w_new);
  }
  wrap.append(table);
  return wrap;
}

// ---- start ------------------------------------------------------------------------------------

async function boot() {
  wireControls();
  new ResizeObserver(() => { layoutEdges(); drawChart(); drawBoundary(); })
    .observe(document.body);
  const query = location.search.replace(/^\?/, "");
  if (await startSession(query)) return;
  // A link the server refuses: say why, and run the defaults (keeping the teacher's hiding).
  const why = $("error").textContent;
  const hides = new URLSearchParams([...new URLSearchParams(query)]
    .filter(([key]) => key.endsWith("_hide")));
  if (!(await startSession(hides.toString()))) await startSession("");
  showError(`${why} (the link's settings were not used: these are the defaults)`);
}

boot();
