// claude-bottle dashboard. Plain JavaScript, no library: the server sends
// the data (JSON over /api and server-sent events on /api/events) and this
// script draws it. Every text that came from a bottle is set as text, never
// as HTML: the agent in a bottle is not to be trusted.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const main = document.getElementById("main");

// ---- small helpers ---------------------------------------------------

// el builds an element: el("td", {class: "x"}, "text", child...).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function shortID(id) {
  if (!id) return "";
  return id.replace(/^sha256:/, "").slice(0, 12);
}

// age renders the time since an ISO date as its largest unit, as `ps` does.
function age(iso) {
  if (!iso) return "–";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m";
  if (s < 48 * 3600) return Math.floor(s / 3600) + "h";
  return Math.floor(s / 86400) + "d";
}

function when(iso) {
  if (!iso || iso.startsWith("0001-")) return "–";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function bytes(n) {
  if (n < 1024) return n + " B";
  const units = "KMGTPE";
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return n.toFixed(1) + " " + units[i] + "iB";
}

// since makes a cell whose text is the age of iso, kept up to date.
function since(iso, tag = "span", attrs = {}) {
  const e = el(tag, attrs, age(iso));
  if (iso) e.dataset.since = iso;
  return e;
}
setInterval(() => {
  for (const e of document.querySelectorAll("[data-since]")) e.textContent = age(e.dataset.since);
}, 1000);

const statusClass = { "running": "running", "stopped": "stopped", "building": "building", "waiting for approval": "waiting" };

function badge(text, cls) { return el("span", { class: "badge " + (cls || text) }, text); }

// asks says what a request asked for (an edit shows in its outcome).
function asks(r) {
  const run = r.run;
  const pkgs = r.packages;
  if (pkgs && pkgs.length) return "packages: " + pkgs.join(" ");
  if (run && run.length) return run.join("\n");
  if (r.hosts && r.hosts.length) return "hosts: " + r.hosts.join(" ");
  return "(no instructions yet: give them with Edit)";
}

// ---- talking to the server --------------------------------------------

async function post(path, body) {
  const res = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body || {}),
  });
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON: a refusal line */ }
  if (!res.ok) throw new Error((data && data.error) || ("HTTP " + res.status));
  return data;
}

async function getJSON(path) {
  const res = await fetch(path, { credentials: "same-origin" });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || ("HTTP " + res.status));
  return data;
}

function notice(text, kind) {
  const n = el("div", { class: "notice " + (kind || ""), title: "click to close", onclick: () => n.remove() }, text);
  const box = document.getElementById("notices");
  box.append(n);
  while (box.children.length > 3) box.firstChild.remove();
  setTimeout(() => n.remove(), kind === "error" ? 12000 : 6000);
}

// confirmAction asks before a destructive action; with a field, it returns
// what was typed (the reason of a denial), else true; null if cancelled.
function confirmAction(title, text, okLabel, field) {
  const d = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = okLabel;
  const wrap = document.getElementById("confirm-field");
  const input = document.getElementById("confirm-input");
  wrap.hidden = !field;
  input.value = "";
  input.required = !!field;
  return new Promise((resolve) => {
    d.addEventListener("close", () => {
      if (d.returnValue !== "ok") return resolve(null);
      resolve(field ? input.value.trim() : true);
    }, { once: true });
    d.returnValue = "";
    d.showModal();
    if (field) input.focus();
  });
}

// ---- state shared by the views ---------------------------------------------

const jobs = new Map();    // id -> job, from "job" events
let overview = null;       // the last "overview" event
const view = location.pathname.startsWith("/bottles/")
  ? { kind: "bottle", slug: decodeURIComponent(location.pathname.slice("/bottles/".length)) }
  : { kind: "overview" };

// A redraw would lose what the operator is typing (an edit, a reason):
// while an editor or the dialog is open, redraws wait.
let redrawWaiting = false;
function busyEditing() {
  return !!document.querySelector(".editor:not([hidden])") || document.getElementById("confirm").open;
}
function redraw() {
  if (busyEditing()) { redrawWaiting = true; return; }
  redrawWaiting = false;
  if (view.kind === "overview") { if (overview) renderOverview(); } else renderBottle();
}
setInterval(() => { if (redrawWaiting) redraw(); }, 500);

function setProblem(text) {
  const p = document.getElementById("problem");
  p.hidden = !text;
  p.textContent = text || "";
}

// ---- actions ------------------------------------------------------------

async function startJob(path, label) {
  try {
    const job = await post(path);
    jobs.set(job.id, job);
    notice(label + " started", "");
    if (view.kind === "bottle") renderJob();
  } catch (e) {
    notice(label + ": " + e.message, "error");
  }
}

async function approve(r, instructions) {
  const body = instructions === undefined ? {} : { instructions };
  try {
    const job = await post("/api/requests/" + encodeURIComponent(r.id) + "/approve", body);
    jobs.set(job.id, job);
    notice("approving " + r.id + " (capability " + r.name + " of " + r.slug + "): building…", "");
    for (const e of document.querySelectorAll(".editor")) e.hidden = true;
    redraw();
  } catch (e) {
    notice("approve " + r.id + ": " + e.message, "error");
  }
}

async function deny(r) {
  const reason = await confirmAction("Deny request " + r.id + "?",
    "Bottle " + r.slug + " asked for capability \u201c" + r.name + "\u201d. The agent is told your reason and will not ask again for the same thing.",
    "Deny", true);
  if (!reason) return;
  try {
    await post("/api/requests/" + encodeURIComponent(r.id) + "/deny", { reason });
    notice("request " + r.id + " denied", "ok");
    refreshDetail();
  } catch (e) {
    notice("deny " + r.id + ": " + e.message, "error");
  }
}

function hasInstructions(r) {
  return !!((r.run && r.run.length) || (r.packages && r.packages.length) || (r.hosts && r.hosts.length));
}

// editText renders a request's instructions as `request approve --edit`
// reads them back: one run command a line, or "packages: ...".
function editText(r) {
  const run = r.edited ? r.edited.run : r.run;
  const pkgs = r.edited ? r.edited.packages : r.packages;
  if (pkgs && pkgs.length) return "packages: " + pkgs.join(" ") + "\n";
  return (run || []).join("\n") + "\n";
}

function requestCard(r, withBottle) {
  const card = el("div", { class: "request " + r.state, dataset: { request: r.id } });
  const editor = el("div", { class: "editor", hidden: true });
  const area = el("textarea", { spellcheck: "false", "aria-label": "instructions" });
  area.value = editText(r);
  editor.append(
    el("div", { class: "muted" }, "One command a line (each becomes a RUN line, run as root), or one line \u201cpackages: NAME...\u201d for the image's package manager."),
    area,
    el("div", { class: "buttons" },
      el("button", { class: "primary approve-edited", onclick: () => approve(r, area.value) }, "Approve with these instructions"),
      el("button", { onclick: () => { editor.hidden = true; } }, "Cancel")));
  card.append(
    el("div", { class: "head" },
      withBottle ? el("a", { href: "/bottles/" + encodeURIComponent(r.slug) }, r.slug) : null,
      el("span", { class: "name" }, r.kind + " \u201c" + r.name + "\u201d"),
      badge(r.state),
      el("span", { class: "muted mono" }, r.id),
      el("span", { class: "muted" }, "asked " + when(r.created_at) + (r.origin === "hook" ? " (seen by the hook)" : ""))),
    el("div", { class: "asks mono" }, asks(r)),
    r.reason ? el("div", { class: "reason" }, "Reason: ", r.reason) : null,
    el("div", { class: "buttons" },
      el("button", { class: "primary approve", disabled: !hasInstructions(r), title: hasInstructions(r) ? "" : "it asks for nothing to run yet: give the instructions with Edit", onclick: () => approve(r) }, "Approve"),
      el("button", { class: "edit", onclick: () => { editor.hidden = false; area.focus(); } }, "Edit, then approve"),
      el("button", { class: "danger deny", onclick: () => deny(r) }, "Deny")),
    editor);
  return card;
}

// ---- the overview ---------------------------------------------------------

function renderOverview() {
  const ov = overview;
  document.getElementById("crumbs").textContent = "";
  const waiting = ov.requests || [];
  const reqSection = el("section", { class: "card", id: "waiting" },
    el("h2", {}, "Waiting for you ", el("span", { class: "count" }, "(" + waiting.filter(r => r.state === "pending").length + " pending, " + waiting.filter(r => r.state === "suggested").length + " suggested)")),
    waiting.length ? el("div", { class: "requests" }, waiting.map(r => requestCard(r, true))) : el("div", { class: "empty" }, "No request waits for a decision."));

  const rows = ov.bottles || [];
  const table = el("table", { id: "bottles" },
    el("thead", {}, el("tr", {}, ["Bottle", "Status", "Image", "ID", "Age", "Drift", "Caps", "Pending", "Transcript", "Cwd", "Uptime"].map(h => el("th", {}, h)))),
    el("tbody", {}, rows.map(bottleRow)));
  const bottles = el("section", { class: "card" },
    el("h2", {}, "Bottles ", el("span", { class: "count" }, "(" + rows.length + ")")),
    rows.length ? table : el("div", { class: "empty" }, "No bottle yet: `claude-bottle launch SLUG` makes one."));
  const old = new Map([...document.querySelectorAll("#bottles tbody tr")].map(tr => [tr.dataset.slug, tr.dataset.sig]));
  main.replaceChildren(reqSection, bottles);
  for (const tr of document.querySelectorAll("#bottles tbody tr")) {
    if (old.size && old.get(tr.dataset.slug) !== tr.dataset.sig) tr.classList.add("flash");
  }
}

function bottleRow(b) {
  const drift = b.drift.stale ? badge("stale") : b.drift.needs_build ? badge("needs build", "needs-build") : "–";
  const t = b.transcript ? when(b.transcript.taken) + " \u00b7 " + bytes(b.transcript.bytes) : "–";
  const running = b.container && b.container.state === "running";
  return el("tr", { dataset: { slug: b.slug, sig: JSON.stringify([b.status, b.image.id, b.capabilities, b.pending, b.drift]) } },
    el("td", { class: "slug" }, el("a", { href: "/bottles/" + encodeURIComponent(b.slug) }, b.slug)),
    el("td", { class: "status" }, badge(b.status, statusClass[b.status])),
    el("td", { class: "image-kind", title: b.image.tag }, badge(b.image.kind, b.image.kind === "rebuilt" ? "rebuilt" : "kind")),
    el("td", { class: "image-id", title: b.image.id || "not built" }, shortID(b.image.id) || "not built"),
    since(b.image.created, "td", { class: "age num" }),
    el("td", { class: "drift", title: b.drift.hint || "" }, drift),
    el("td", { class: "caps num" }, b.capabilities),
    el("td", { class: "pending num" }, b.pending ? el("a", { href: "/bottles/" + encodeURIComponent(b.slug) + "#requests" }, b.pending) : "0"),
    el("td", { class: "transcript" }, t),
    el("td", { class: "cwd", title: b.cwd_from ? "from the " + b.cwd_from : "" }, b.cwd || "–"),
    running ? since(b.container.started_at, "td", { class: "uptime num" }) : el("td", { class: "uptime num" }, "–"));
}

// ---- a bottle's page -------------------------------------------------------

let detail = null;

async function refreshDetail() {
  if (view.kind !== "bottle") return;
  try {
    detail = await getJSON("/api/bottles/" + encodeURIComponent(view.slug));
    setProblem("");
    redraw();
  } catch (e) {
    setProblem(e.message);
  }
}

let refreshTimer = null;
function refreshDetailSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshDetail, 150);
}

function renderBottle() {
  const d = detail;
  if (!d) return;
  document.getElementById("crumbs").replaceChildren(el("a", { href: "/" }, "bottles"), " / ", d.slug);
  const running = d.container && d.container.state === "running";
  const head = el("h1", {}, d.slug, badge(d.status, statusClass[d.status]),
    el("div", { class: "actions" },
      el("button", { class: "primary", id: "act-rebuild", onclick: () => startJob("/api/bottles/" + encodeURIComponent(d.slug) + "/rebuild", "rebuild of " + d.slug) }, "Rebuild"),
      el("button", { id: "act-rebase", disabled: !d.drift.stale, title: d.drift.stale ? d.drift.hint : "the override is not stale", onclick: () => startJob("/api/bottles/" + encodeURIComponent(d.slug) + "/rebase", "rebase of " + d.slug) }, "Rebase"),
      el("button", { class: "danger", id: "act-rollback", onclick: async () => {
        if (await confirmAction("Roll back " + d.slug + "?", "Its capabilities, override and image go back one step together (roll back again to go forward).", "Roll back")) startJob("/api/bottles/" + encodeURIComponent(d.slug) + "/rollback", "rollback of " + d.slug);
      } }, "Roll back"),
      el("button", { class: "danger", id: "act-stop", disabled: !running, title: running ? "" : "not running", onclick: async () => {
        if (await confirmAction("Stop " + d.slug + "?", "Its container gets SIGTERM, then SIGKILL after 10 s. The agent's session is saved in the transcript snapshot when it stops.", "Stop")) startJob("/api/bottles/" + encodeURIComponent(d.slug) + "/stop", "stop of " + d.slug);
      } }, "Stop")));

  const summary = el("section", { class: "card" }, el("h2", {}, "At a glance"), el("dl", { class: "facts" },
    fact("image", d.image.tag + " (" + d.image.kind + ")"),
    fact("image ID", el("span", { class: "mono", id: "image-id" }, d.image.id || "not built")),
    fact("built", d.image.created ? [when(d.image.created), " (", since(d.image.created), " ago)"] : "–"),
    fact("drift", d.drift.hint || "none"),
    fact("capabilities", String(d.capabilities)),
    fact("pending requests", String(d.pending) + (d.suggested ? " (+" + d.suggested + " suggested)" : "")),
    fact("transcript", d.transcript ? when(d.transcript.taken) + ", " + d.transcript.files + " files, " + bytes(d.transcript.bytes) : "none yet"),
    fact("cwd", d.cwd ? d.cwd + " (from the " + d.cwd_from + ")" : "–"),
    fact("container", d.container ? d.container.name + " (" + d.container.state + ")" : "none"),
    fact("uptime", running ? since(d.container.started_at) : "–"),
    (d.problems || []).map(p => fact("problem", el("span", { class: "badge error" }, p)))));

  const open = d.requests.filter(r => r.state === "pending" || r.state === "suggested");
  const past = d.requests.filter(r => !(r.state === "pending" || r.state === "suggested"));
  const requests = el("section", { class: "card", id: "requests" },
    el("h2", {}, "Requests ", el("span", { class: "count" }, "(" + open.length + " open, " + past.length + " decided)")),
    open.length ? el("div", { class: "requests" }, open.map(r => requestCard(r, false))) : el("div", { class: "empty" }, "No open request."),
    past.length ? el("table", { class: "past" },
      el("thead", {}, el("tr", {}, ["ID", "State", "Name", "Asked", "Decided", "Outcome"].map(h => el("th", {}, h)))),
      el("tbody", {}, past.map(r => el("tr", { dataset: { request: r.id } },
        el("td", { class: "id" }, r.id), el("td", {}, badge(r.state)), el("td", {}, r.name),
        el("td", { class: "mono" }, asks(r)),
        el("td", {}, r.decided_by ? when(r.decided_at) + " by " + r.decided_by : "–"),
        el("td", {}, r.deny_reason || (r.edited && r.edited.summary) || r.error || (r.image_id ? "image " + shortID(r.image_id) : "")))))) : null);

  const p = d.plan;
  const plan = el("section", { class: "card" }, el("h2", {}, "Plan"), p ? el("dl", { class: "facts" },
    fact("Dockerfile", el("span", { class: "mono" }, p.dockerfile)),
    fact("base", d.base ? d.base + " (" + d.base_path + ")" : "the Dockerfile itself (no capabilities)"),
    fact("context", el("span", { class: "mono" }, p.context + "  (repo from " + p.repo_from + ")")),
    fact("driver", p.driver ? p.driver + (p.driver_reason ? " (" + p.driver_reason + ")" : "") : "–"),
    fact("image", p.image + (p.rebuilt ? "  (rebuilt from this bottle's own Dockerfile)" : "  (the repo's Dockerfile)"))) : el("div", { class: "empty" }, "No plan: see the problems above."));

  const diff = el("section", { class: "card" }, el("h2", {}, "Override against its base"),
    d.diff ? diffPre(d.diff) : el("div", { class: "empty" }, "The bottle builds its base as it is: no capability adds to it."));

  const caps = el("section", { class: "card" }, el("h2", {}, "Capabilities ", el("span", { class: "count" }, "(" + d.capability_list.length + ")")),
    d.capability_list.length ? el("table", {},
      el("thead", {}, el("tr", {}, ["Name", "Kind", "User", "Approved", "Source", "Reason", "Instructions"].map(h => el("th", {}, h)))),
      el("tbody", {}, d.capability_list.map(c => el("tr", {},
        el("td", {}, c.name), el("td", {}, c.kind), el("td", {}, c.user || "–"),
        el("td", {}, when(c.approved_at) + " by " + c.approved_by),
        el("td", {}, c.source.kind + (c.source.request_id ? " " + c.source.request_id : "")),
        el("td", {}, c.reason || "–"),
        el("td", {}, el("details", {}, el("summary", {}, "show"), el("pre", {}, c.instructions))))))) : el("div", { class: "empty" }, "None."));

  const audit = el("section", { class: "card" }, el("h2", {}, "Audit log"),
    d.audit.length ? el("table", {},
      el("thead", {}, el("tr", {}, ["Time", "User", "Action", "Capability", "Request", "Image before", "Image after", "Detail"].map(h => el("th", {}, h)))),
      el("tbody", {}, d.audit.map(e => el("tr", {},
        el("td", {}, when(e.time)), el("td", {}, e.user), el("td", {}, e.action), el("td", {}, e.capability || "–"),
        el("td", { class: "mono" }, e.request_id || "–"), el("td", { class: "mono" }, shortID(e.image_before) || "–"),
        el("td", { class: "mono" }, shortID(e.image_after) || "–"), el("td", {}, e.detail || ""))))) : el("div", { class: "empty" }, "No change yet."));

  const lb = d.last_build;
  const last = el("section", { class: "card", id: "last-build" }, el("h2", {}, "Last build from the dashboard"),
    lb ? [el("p", {}, badge(lb.ok ? "succeeded" : "failed"), " ", lb.action, " \u00b7 ", when(lb.started), " \u2192 ", when(lb.ended), lb.image ? " \u00b7 " + shortID(lb.image) : ""),
      lb.error ? el("pre", { class: "error" }, lb.error) : null,
      el("details", {}, el("summary", {}, "build log"), el("pre", { class: "log" }, lb.log || "(empty)"))] : el("div", { class: "empty" }, "None yet."));

  const jobBox = el("section", { class: "card job", id: "job", hidden: true });
  main.replaceChildren(head, jobBox, el("div", { class: "grid2" }, summary, plan), requests, diff, caps, audit, last);
  renderJob();
}

function fact(k, v) { return [el("dt", {}, k), el("dd", {}, v)]; }

function diffPre(text) {
  const pre = el("pre", { class: "diff" });
  for (const line of text.split("\n")) {
    let cls = "";
    if (line.startsWith("+++") || line.startsWith("---")) cls = "file";
    else if (line.startsWith("@@")) cls = "hunk";
    else if (line.startsWith("+")) cls = "add";
    else if (line.startsWith("-")) cls = "del";
    pre.append(el("span", { class: cls }, line), "\n");
  }
  return pre;
}

// renderJob shows the latest job of this bottle: its steps, its log as it
// comes, and its outcome.
function renderJob() {
  const box = document.getElementById("job");
  if (!box || view.kind !== "bottle") return;
  const mine = [...jobs.values()].filter(j => j.slug === view.slug).sort((a, b) => Date.parse(b.started) - Date.parse(a.started));
  const j = mine[0];
  if (!j) { box.hidden = true; return; }
  box.hidden = false;
  box.dataset.state = j.state;
  box.dataset.job = j.id;
  const log = el("pre", { class: "log" }, j.log || (j.state === "running" ? "waiting for the build's output…" : ""));
  box.replaceChildren(
    el("h2", {}, j.action + (j.request ? " " + j.request : ""), " ", badge(j.state === "running" ? "building" : j.state, j.state === "running" ? "building" : j.state)),
    j.state === "running" ? null : el("div", { class: "outcome" }, j.state === "succeeded" ? j.message : j.error),
    j.steps && j.steps.length ? el("ol", { class: "steps" }, j.steps.map(s => el("li", {}, badge(s.state), " ", el("span", { class: "name" }, s.name), s.error ? el("div", { class: "muted" }, s.error) : null))) : null,
    j.log || j.state === "running" ? log : null);
  log.scrollTop = log.scrollHeight;
  const steps = box.querySelector("ol.steps");
  if (steps) steps.scrollTop = steps.scrollHeight;
}

// ---- the live stream ---------------------------------------------------------

function connect() {
  const live = document.getElementById("live");
  const es = new EventSource("/api/events");
  es.onopen = () => { live.dataset.state = "live"; live.textContent = "live"; };
  es.onerror = () => { live.dataset.state = "down"; live.textContent = "reconnecting…"; };
  es.addEventListener("overview", (ev) => {
    overview = JSON.parse(ev.data);
    setProblem(overview.problem);
    if (view.kind === "overview") redraw();
    else refreshDetailSoon();
  });
  es.addEventListener("changed", () => { if (view.kind === "bottle") refreshDetailSoon(); });
  es.addEventListener("job", (ev) => {
    const j = JSON.parse(ev.data);
    const before = jobs.get(j.id);
    jobs.set(j.id, j);
    if (view.kind === "bottle" && j.slug === view.slug) renderJob();
    if (j.state !== "running" && (!before || before.state === "running")) {
      notice(j.state === "succeeded" ? j.message : (j.action + " of " + j.slug + " failed: " + j.error), j.state === "succeeded" ? "ok" : "error");
      if (view.kind === "bottle") refreshDetailSoon();
    }
  });
}

if (view.kind === "bottle") refreshDetail();
connect();
