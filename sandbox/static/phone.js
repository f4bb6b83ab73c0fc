// The sandbox phone: chat as a LINE user. Message text is only ever set with textContent.
"use strict";
const $ = (id) => document.getElementById(id);
let userId = localStorage.getItem("sandboxUser") || "";
let seen = 0;
const mine = [];

async function call(method, path, body) {
  const response = await fetch(path, {
    method, headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}

async function loadUsers() {
  const { users } = await call("GET", "/_sandbox/users");
  const select = $("user-select");
  select.replaceChildren();
  for (const user of users) {
    const option = document.createElement("option");
    option.value = user.user_id;
    option.textContent = user.display_name + (user.blocked ? " (ブロック中)" : user.friend ? "" : " (未追加)");
    select.append(option);
  }
  if (!users.some((u) => u.user_id === userId)) userId = users.length ? users[0].user_id : "";
  select.value = userId;
  const current = users.find((u) => u.user_id === userId);
  $("friend-state").textContent = !current ? "ユーザーを作成してください / create a user"
    : current.blocked ? "ブロック中 / blocked" : current.friend ? "友だち / friend" : "未追加 / not added";
}

function bubble(side, build, meta) {
  const div = document.createElement("div");
  div.className = `msg ${side}`;
  build(div);
  if (meta) {
    const small = document.createElement("span");
    small.className = "meta";
    small.textContent = meta;
    div.append(small);
  }
  $("chat").append(div);
  $("chat").scrollTop = $("chat").scrollHeight;
}

function renderFlexNode(node) {
  if (!node || typeof node !== "object") return document.createTextNode("");
  if (node.type === "bubble") {
    const wrap = document.createElement("div");
    for (const part of ["header", "hero", "body", "footer"]) if (node[part]) wrap.append(renderFlexNode(node[part]));
    return wrap;
  }
  if (node.type === "carousel") {
    const wrap = document.createElement("div");
    for (const b of node.contents || []) wrap.append(renderFlexNode(b));
    return wrap;
  }
  if (node.type === "box") {
    const box = document.createElement("div");
    box.className = `box ${node.layout || "vertical"}`;
    if (node.backgroundColor) box.style.background = node.backgroundColor;
    for (const child of node.contents || []) box.append(renderFlexNode(child));
    return box;
  }
  if (node.type === "text") {
    const p = document.createElement("div");
    p.textContent = node.text || (node.contents || []).map((s) => s.text).join("");
    if (node.weight === "bold") p.style.fontWeight = "bold";
    if (node.color) p.style.color = node.color;
    return p;
  }
  if (node.type === "image") {
    const img = document.createElement("img");
    img.src = node.url; img.alt = "";
    return img;
  }
  if (node.type === "button") {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = (node.action && node.action.label) || "button";
    button.addEventListener("click", () => runAction(node.action));
    return button;
  }
  return document.createTextNode("");
}

// LINE's sticker image; offline (the sandbox's usual case) the word スタンプ instead.
function stickerImage(stickerId) {
  const img = document.createElement("img");
  img.className = "sticker-image";
  img.alt = "スタンプ";
  img.src = `https://stickershop.line-scdn.net/stickershop/v1/sticker/${encodeURIComponent(stickerId)}/android/sticker.png`;
  img.addEventListener("error", () => {
    const label = document.createElement("span");
    label.className = "sticker-fallback";
    label.textContent = "スタンプ";
    img.replaceWith(label);
  });
  return img;
}

function renderBotMessage(entry) {
  const m = entry.message;
  const meta = `${entry.via} ${entry.at.slice(11, 19)}`;
  if (m.type === "text") bubble("bot", (d) => { d.textContent = m.text; }, meta);
  else if (m.type === "sticker") bubble("bot sticker", (d) => { d.append(stickerImage(m.stickerId)); }, meta);
  else if (m.type === "flex") bubble("bot flex", (d) => { d.append(renderFlexNode(m.contents)); }, meta);
  else if (m.type === "image") bubble("bot", (d) => { const i = document.createElement("img"); i.src = m.previewImageUrl; i.style.maxWidth = "100%"; d.append(i); }, meta);
  else bubble("bot", (d) => { d.textContent = m.altText || `[${m.type}]`; }, meta);
  const items = (m.quickReply && m.quickReply.items) || [];
  $("quick-replies").replaceChildren(...items.map((item) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = item.action.label || item.action.text || item.action.type;
    b.addEventListener("click", () => runAction(item.action));
    return b;
  }));
}

async function runAction(action) {
  if (!action) return;
  if (action.type === "message") return sendEvent({ type: "text", text: action.text }, action.text);
  if (action.type === "postback") return sendEvent({ type: "postback", data: action.data }, action.displayText || null);
  if (action.type === "datetimepicker") return pickDate(action);
  if (action.type === "uri") window.open(action.uri, "_blank", "noopener");
}

// LINE opens a native picker; here a prompt asks for the value in LINE's format.
function pickDate(action) {
  const mode = action.mode || "date";
  const example = { date: "2026-04-01", time: "10:00", datetime: "2026-04-01T10:00" }[mode];
  const value = window.prompt(`${action.label || mode} (${example})`, action.initial || example);
  if (!value) return;
  return sendEvent({ type: "postback", data: action.data, params: { [mode]: value } }, value);
}

async function sendEvent(spec, shown) {
  if (!userId) return;
  if (shown) bubble("me", (d) => { d.textContent = shown; });
  await call("POST", `/_sandbox/users/${userId}/events`, spec);
  poll();
}

async function poll() {
  if (!userId) return;
  const { messages } = await call("GET", `/_sandbox/users/${userId}/messages`);
  for (const entry of messages.slice(seen)) renderBotMessage(entry);
  seen = messages.length;
}

function switchUser(id) {
  userId = id;
  localStorage.setItem("sandboxUser", id);
  seen = 0;
  $("chat").replaceChildren();
  $("quick-replies").replaceChildren();
  loadUsers().then(poll);
}

$("user-select").addEventListener("change", (e) => switchUser(e.target.value));
$("new-user").addEventListener("click", async () => {
  const name = prompt("表示名 / display name", "テスト ユーザー");
  if (!name) return;
  const user = await call("POST", "/_sandbox/users", { display_name: name });
  switchUser(user.user_id);
});
$("follow").addEventListener("click", async () => { await call("POST", `/_sandbox/users/${userId}/follow`); loadUsers(); poll(); });
$("block").addEventListener("click", async () => { await call("POST", `/_sandbox/users/${userId}/unfollow`); loadUsers(); });
$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  $("text").value = "";
  sendEvent({ type: "text", text }, text);
});
$("sticker").addEventListener("click", () => sendEvent({ type: "sticker", packageId: "446", stickerId: "1988" }, "[スタンプ]"));
$("location").addEventListener("click", () => sendEvent({ type: "location", title: "東京タワー", address: "東京都港区芝公園4-2-8", latitude: 35.65858, longitude: 139.745433 }, "📍 東京タワー"));
$("photo").addEventListener("change", (e) => {
  const file = e.target.files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    const base64 = String(reader.result).split(",")[1];
    sendEvent({ type: "image", content_base64: base64, content_type: file.type || "image/png" }, `📷 ${file.name}`);
  };
  reader.readAsDataURL(file);
});
loadUsers().then(poll);
setInterval(poll, 1000);
setInterval(loadUsers, 5000);
