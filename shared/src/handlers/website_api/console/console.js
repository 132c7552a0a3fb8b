// The review console: the API's own routes, called with the reviewer's key from this tab's
// session storage. No framework, no inline script (the page's Content-Security-Policy allows
// none); every value from the API is written as text, never as HTML.
"use strict";

const KEY_STORAGE = "optout.reviewerKey";
const PAGE = 100;

const $ = (id) => document.getElementById(id);
let items = [];
let cursor = null;
let current = null;

function say(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.className = kind || "";
}

function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

// A call to the API with the key; resolves to the response, or throws an Error whose message
// a reviewer can act on.
async function api(path, options) {
  const key = storedKey();
  const headers = Object.assign({ "x-api-key": key || "" }, (options && options.headers) || {});
  let response;
  try {
    response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
  } catch (e) {
    throw new Error("The API could not be reached; try again in a moment.");
  }
  if (response.ok) {
    return response;
  }
  let message = "The API answered " + response.status + ".";
  try {
    const body = await response.json();
    if (body && body.message) {
      message = body.message;
    }
  } catch (e) {
    // Not JSON: the status says enough.
  }
  if (response.status === 401 || response.status === 403) {
    sessionStorage.removeItem(KEY_STORAGE);
    showSignIn();
    message = (response.status === 401 ? "That key was refused: " : "That key may not review: ") + message;
  } else if (response.status >= 500) {
    message += " Nothing was changed; try again.";
  }
  throw new Error(message);
}

// All but the last four digits hidden, as in the service's logs.
function masked(number) {
  const text = String(number);
  return "•".repeat(Math.max(0, text.length - 4)) + text.slice(-4);
}

function today() {
  const now = new Date();
  return Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
}

// Calendar days from today to the item's last day; null when the due is not a date (such an
// item counts as overdue, as the API counts it).
function daysLeft(due) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(due));
  if (!m) {
    return null;
  }
  return Math.round((Date.UTC(+m[1], +m[2] - 1, +m[3]) - today()) / 86400000);
}

function timeLeft(due) {
  const days = daysLeft(due);
  if (days === null) {
    return { text: "Overdue (no due date)", overdue: true };
  }
  if (days < 0) {
    const n = -days;
    return { text: "Overdue by " + n + (n === 1 ? " day" : " days"), overdue: true };
  }
  if (days === 0) {
    return { text: "Due today", overdue: false };
  }
  return { text: days + (days === 1 ? " day left" : " days left"), overdue: false };
}

function shortTime(value) {
  return String(value || "").replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) {
    td.className = className;
  }
  row.appendChild(td);
  return td;
}

function renderList() {
  const body = document.querySelector("#items tbody");
  body.replaceChildren();
  items.forEach((item, index) => {
    const row = document.createElement("tr");
    row.dataset.id = item.id;
    const left = timeLeft(item.due);
    if (left.overdue) {
      row.className = "overdue";
    }
    cell(row, item.due, "due");
    cell(row, left.text, "left");
    cell(row, masked(item.msisdn), "number");
    cell(row, item.cue, "cue");
    cell(row, item.text, "text");
    cell(row, shortTime(item.received_at), "received");
    const open = document.createElement("button");
    open.type = "button";
    open.textContent = "Open";
    open.setAttribute("aria-label", "Open the item due " + item.due + " from " + masked(item.msisdn));
    open.addEventListener("click", () => showDetail(index));
    cell(row, "").appendChild(open);
    body.appendChild(row);
  });
  $("items").hidden = items.length === 0;
  $("empty").hidden = items.length !== 0;
  $("more").hidden = !cursor;
  $("items-caption").textContent =
    items.length + (items.length === 1 ? " open item" : " open items") + ", oldest due first";
}

async function loadPage(more) {
  let path = "reviews?status=open&limit=" + PAGE;
  if (more && cursor) {
    path += "&cursor=" + encodeURIComponent(cursor);
  }
  const page = await (await api(path)).json();
  items = more ? items.concat(page.items) : page.items;
  cursor = page.next_cursor;
  renderList();
}

async function showQueue(focus) {
  $("sign-in").hidden = true;
  $("detail").hidden = true;
  $("queue").hidden = false;
  try {
    await loadPage(false);
    if (focus) {
      $("queue-title").focus();
    }
  } catch (e) {
    say(e.message, "error");
  }
}

function showSignIn() {
  $("queue").hidden = true;
  $("detail").hidden = true;
  $("sign-in").hidden = false;
}

function fact(list, term, value) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  list.append(dt, dd);
}

async function showDetail(index) {
  current = items[index];
  const item = current;
  const facts = $("facts");
  facts.replaceChildren();
  fact(facts, "Number", "+" + item.msisdn);
  fact(facts, "Due", item.due + " (" + timeLeft(item.due).text.toLowerCase() + ")");
  fact(facts, "Cue", item.cue);
  fact(facts, "Sent to", item.short_code);
  fact(facts, "Message time", shortTime(item.message_at));
  fact(facts, "Received", shortTime(item.received_at));
  fact(facts, "Item", item.id);
  $("message").textContent = item.text;
  $("decide-form").reset();
  $("queue").hidden = true;
  $("detail").hidden = false;
  $("detail-title").focus();
  const evidence = $("evidence");
  evidence.textContent = "Loading…";
  try {
    const path = "subscriptions/" + encodeURIComponent(item.msisdn) + "/evidence?format=text";
    evidence.textContent = await (await api(path, { headers: { accept: "text/plain" } })).text();
  } catch (e) {
    evidence.textContent = "The evidence file could not be read: " + e.message;
  }
}

async function decide(event) {
  event.preventDefault();
  const form = event.target;
  const decision = form.elements.decision.value;
  if (!decision || !current) {
    say("Choose a decision first.", "error");
    return;
  }
  const note = form.elements.note.value.trim();
  const body = { decision };
  if (note) {
    body.note = note;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await api("reviews/" + encodeURIComponent(current.id), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const resolved = await response.json();
    const label = decision === "opt_out" ? "opt out" : "not a revocation";
    say("Decided: " + label + " for " + masked(current.msisdn) + ", recorded as decided by " +
      resolved.resolution.by + " (" + resolved.outcome + ").", "ok");
    current = null;
    await showQueue(true);
  } catch (e) {
    say(e.message, "error");
  } finally {
    button.disabled = false;
  }
}

function signIn(event) {
  event.preventDefault();
  const input = $("key");
  const key = input.value.trim();
  input.value = "";
  if (!key) {
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  say("");
  showQueue(true);
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", signIn);
  $("decide-form").addEventListener("submit", decide);
  $("refresh").addEventListener("click", () => { say(""); showQueue(false); });
  $("more").addEventListener("click", () => loadPage(true).catch((e) => say(e.message, "error")));
  $("back").addEventListener("click", () => { current = null; showQueue(true); });
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    say("Your key is forgotten in this tab.");
    showSignIn();
  });
  if (storedKey()) {
    showQueue(false);
  } else {
    showSignIn();
  }
});
