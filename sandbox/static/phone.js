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

// Flex messages drawn close to how LINE draws them: sizes, spacing, colours, boxes with
// width/height/corners/borders, images with their aspect ratio, buttons by style.
const FLEX_SPACING = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
const FLEX_TEXT = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };
const FLEX_IMAGE = { xxs: 40, xs: 60, sm: 80, md: 100, lg: 120, xl: 140, xxl: 160, "3xl": 180, "4xl": 200, "5xl": 240 };
const FLEX_BORDER = { none: 0, light: 0.5, normal: 1, medium: 2, "semi-bold": 3, bold: 4 };
const FLEX_BUBBLE = { nano: 120, micro: 160, deca: 220, hecto: 241, kilo: 260, mega: 300, giga: 386 };
const FLEX_ALIGN = { start: "flex-start", end: "flex-end", center: "center", "flex-start": "flex-start", "flex-end": "flex-end", "space-between": "space-between", "space-around": "space-around", "space-evenly": "space-evenly" };

function px(value, table) {
  if (value === undefined || value === null) return null;
  if (typeof value === "string" && /^\d+(\.\d+)?(px|%)$/.test(value)) return value;
  return table && value in table ? `${table[value]}px` : null;
}

function safeUrl(url) {
  return typeof url === "string" && /^https?:\/\//.test(url) ? url : "";
}

function placeInParent(el, node, parentLayout) {
  const horizontal = parentLayout === "horizontal" || parentLayout === "baseline";
  const grow = node.flex !== undefined ? node.flex : (horizontal && !node.width ? 1 : 0);
  el.style.flex = grow > 0 ? `${grow} 1 0` : "0 0 auto";
  if (horizontal && grow > 0) el.style.minWidth = "0";
  const margin = px(node.margin, FLEX_SPACING);
  if (margin) el.style[horizontal ? "marginLeft" : "marginTop"] = margin;
  if (node.alignSelf || node.gravity) {
    el.style.alignSelf = FLEX_ALIGN[node.alignSelf] || { top: "flex-start", center: "center", bottom: "flex-end" }[node.gravity] || "";
  }
}

function boxPadding(el, node) {
  for (const [key, css] of [["paddingAll", "padding"], ["paddingTop", "paddingTop"], ["paddingBottom", "paddingBottom"], ["paddingStart", "paddingLeft"], ["paddingEnd", "paddingRight"]]) {
    const value = px(node[key], FLEX_SPACING);
    if (value) el.style[css] = value;
  }
}

function renderBox(node) {
  const box = document.createElement("div");
  const layout = node.layout || "vertical";
  box.className = `box ${layout}`;
  box.style.gap = px(node.spacing, FLEX_SPACING) || "0";
  if (node.backgroundColor) box.style.background = node.backgroundColor;
  if (node.cornerRadius) box.style.borderRadius = px(node.cornerRadius, FLEX_SPACING) || "";
  const border = px(node.borderWidth, FLEX_BORDER);
  if (border) box.style.border = `${border} solid ${node.borderColor || "#000"}`;
  for (const key of ["width", "height", "maxWidth", "maxHeight"]) {
    const value = px(node[key]);
    if (value) { box.style[key] = value; if (key === "width" || key === "height") box.style.flexShrink = "0"; }
  }
  boxPadding(box, node);
  if (node.justifyContent) box.style.justifyContent = FLEX_ALIGN[node.justifyContent] || "";
  if (node.alignItems) box.style.alignItems = FLEX_ALIGN[node.alignItems] || "";
  for (const child of node.contents || []) {
    const el = renderFlexNode(child, layout);
    if (el.nodeType === 1) placeInParent(el, child, layout);
    box.append(el);
  }
  return box;
}

function renderText(node) {
  const p = document.createElement("div");
  p.className = "text";
  if (node.contents && node.contents.length) {
    for (const span of node.contents) {
      const s = document.createElement("span");
      s.textContent = span.text || "";
      if (span.weight === "bold") s.style.fontWeight = "bold";
      if (span.color) s.style.color = span.color;
      if (span.size) s.style.fontSize = px(span.size, FLEX_TEXT) || "";
      p.append(s);
    }
  } else {
    p.textContent = node.text || "";
  }
  p.style.fontSize = px(node.size || "md", FLEX_TEXT);
  if (node.weight === "bold") p.style.fontWeight = "bold";
  if (node.color) p.style.color = node.color;
  if (node.style === "italic") p.style.fontStyle = "italic";
  if (node.decoration) p.style.textDecoration = node.decoration;
  p.style.textAlign = { start: "left", end: "right", center: "center" }[node.align] || "left";
  p.style.whiteSpace = node.wrap ? "pre-wrap" : "nowrap";
  if (!node.wrap) { p.style.overflow = "hidden"; p.style.textOverflow = "ellipsis"; }
  return p;
}

function renderImage(node) {
  const frame = document.createElement("div");
  frame.className = "image";
  const size = node.size || "md";
  frame.style.width = size === "full" ? "100%" : px(size, FLEX_IMAGE) || "100px";
  frame.style.maxWidth = "100%";
  frame.style.alignSelf = { start: "flex-start", end: "flex-end" }[node.align] || "center";
  const [w, h] = String(node.aspectRatio || "1:1").split(":").map(Number);
  frame.style.aspectRatio = w && h ? `${w} / ${h}` : "1 / 1";
  const img = document.createElement("img");
  img.src = safeUrl(node.url);
  img.alt = "";
  img.style.objectFit = node.aspectMode === "cover" ? "cover" : "contain";
  if (node.backgroundColor) frame.style.background = node.backgroundColor;
  frame.append(img);
  return frame;
}

function renderButton(node) {
  const button = document.createElement("button");
  button.type = "button";
  const style = node.style || "link";
  button.className = `flex-button ${style}`;
  button.textContent = (node.action && node.action.label) || "button";
  if (node.color) button.style[style === "link" ? "color" : "background"] = node.color;
  if (node.height === "sm") button.style.minHeight = "40px";
  button.addEventListener("click", () => runAction(node.action));
  return button;
}

function renderBubble(node) {
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.style.width = `${FLEX_BUBBLE[node.size] || FLEX_BUBBLE.mega}px`;
  const styles = node.styles || {};
  for (const part of ["header", "hero", "body", "footer"]) {
    if (!node[part]) continue;
    const section = document.createElement("div");
    section.className = `section ${part}`;
    if (styles[part] && styles[part].backgroundColor) section.style.background = styles[part].backgroundColor;
    const el = renderFlexNode(node[part], "vertical");
    const padded = ["paddingAll", "paddingTop", "paddingBottom", "paddingStart", "paddingEnd"].some((k) => k in node[part]);
    if (padded || part === "hero") section.style.padding = "0";
    section.append(el);
    if (node[part].backgroundColor) section.style.background = node[part].backgroundColor;
    bubble.append(section);
  }
  return bubble;
}

function renderFlexNode(node, parentLayout) {
  if (!node || typeof node !== "object") return document.createTextNode("");
  switch (node.type) {
    case "bubble": return renderBubble(node);
    case "carousel": {
      const wrap = document.createElement("div");
      wrap.className = "carousel";
      for (const b of node.contents || []) wrap.append(renderBubble(b));
      return wrap;
    }
    case "box": return renderBox(node);
    case "text": return renderText(node);
    case "image": return renderImage(node);
    case "button": return renderButton(node);
    case "separator": {
      const hr = document.createElement("div");
      hr.className = "separator";
      if (node.color) hr.style.background = node.color;
      return hr;
    }
    case "filler": return document.createElement("div");
    case "spacer": {
      const gap = document.createElement("div");
      gap.style.height = px(node.size || "md", FLEX_SPACING);
      return gap;
    }
    default: return document.createTextNode("");
  }
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
  else if (m.type === "flex") bubble(`bot flex${m.contents && m.contents.type === "carousel" ? " wide" : ""}`, (d) => { d.append(renderFlexNode(m.contents)); }, meta);
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
  if (action.type === "postback") {
    applyInputOption(action);
    return sendEvent({ type: "postback", data: action.data }, action.displayText || null);
  }
  if (action.type === "datetimepicker") return pickDate(action);
  if (action.type === "richmenuswitch") return switchRichMenu(action);
  if (action.type === "clipboard" && navigator.clipboard) return navigator.clipboard.writeText(action.clipboardText);
  if (action.type === "uri") window.open(action.uri, "_blank", "noopener");
}

// A postback's inputOption: what LINE opens or closes after the tap.
function applyInputOption(action) {
  if (action.inputOption === "closeRichMenu") openRichMenu(false);
  if (action.inputOption === "openRichMenu") openRichMenu(true);
  if (action.inputOption === "openKeyboard") {
    if (action.fillInText) $("text").value = action.fillInText;
    $("text").focus();
  }
}

// The rich menu: the user's own, else the default, at the bottom as LINE draws it. Each area
// is a button placed by its bounds as a share of the image, so it scales with the phone.
let richMenu = null;
let switchedFrom = null; // the user's menu when a richmenuswitch tap replaced it on screen

async function loadRichMenu() {
  if (!userId) return showRichMenu(null);
  const { richMenu: menu } = await call("GET", `/_sandbox/users/${userId}/richmenu`);
  const base = menu ? menu.richMenuId : "";
  if (switchedFrom !== null && switchedFrom === base) return;
  switchedFrom = null;
  showRichMenu(menu);
}

function showRichMenu(menu) {
  if ((menu && menu.richMenuId) === (richMenu && richMenu.richMenuId)) return;
  richMenu = menu;
  $("rich-menu").hidden = !menu;
  if (!menu) return;
  $("rich-menu-image").src = menu.imageUrl;
  $("rich-menu-areas").replaceChildren(...menu.areas.map((area) => areaButton(area, menu.size)));
  $("rich-menu-bar").textContent = menu.chatBarText;
  openRichMenu(menu.selected);
}

function areaButton(area, size) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "rich-menu-area";
  const { x, y, width, height } = area.bounds;
  const share = (value, whole) => `${(value / whole) * 100}%`;
  Object.assign(button.style, {
    left: share(x, size.width), top: share(y, size.height),
    width: share(width, size.width), height: share(height, size.height),
  });
  const action = area.action;
  button.title = action.label || action.displayText || action.text || action.uri || action.data || action.type;
  button.setAttribute("aria-label", button.title);
  button.addEventListener("click", () => runAction(action));
  return button;
}

function openRichMenu(open) {
  $("rich-menu-panel").hidden = !open;
  $("rich-menu-bar").setAttribute("aria-expanded", String(open));
}

async function switchRichMenu(action) {
  const alias = encodeURIComponent(action.richMenuAliasId);
  const { richMenu: menu } = await call("GET", `/_sandbox/richmenu-aliases/${alias}`);
  if (menu) {
    switchedFrom = switchedFrom !== null ? switchedFrom : (richMenu ? richMenu.richMenuId : "");
    showRichMenu(menu);
  }
  await sendEvent({ type: "richmenuswitch", richMenuAliasId: action.richMenuAliasId, data: action.data }, null);
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
  switchedFrom = null;
  loadUsers().then(poll).then(loadRichMenu);
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
// LINE's camera: a QR holding https://line.me/R/oaMessage/<basic id>/?<text> opens the chat
// with <text> typed in, for the user to send. Here the QR's contents are pasted or typed.
const OA_MESSAGE = /^https:\/\/line\.me\/R\/oaMessage\/([^/?#]+)\/?\?(.*)$/;

function readScannedUrl(url) {
  const match = OA_MESSAGE.exec(url.trim());
  if (!match) return { error: /^https?:\/\//.test(url.trim()) ? "LINE のトークを開く URL ではありません（ブラウザで開かれます） / not a LINE chat URL" : "URL を入力してください / enter the QR's URL" };
  try {
    return { account: decodeURIComponent(match[1]), text: decodeURIComponent(match[2]) };
  } catch (_e) {
    return { error: "URL を読み取れません / malformed URL" };
  }
}

$("scan").addEventListener("click", () => {
  $("scan-form").hidden = !$("scan-form").hidden;
  $("scan-note").textContent = "";
  if (!$("scan-form").hidden) $("scan-url").focus();
});
$("scan-cancel").addEventListener("click", () => { $("scan-form").hidden = true; });
$("scan-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const read = readScannedUrl($("scan-url").value);
  if (read.error) { $("scan-note").textContent = read.error; return; }
  $("scan-form").hidden = true;
  $("scan-url").value = "";
  $("text").value = read.text;
  $("text").focus();
  $("composer-note").textContent = `${read.account} のトークにメッセージが入力されました。送信してください / typed in for ${read.account}: tap send`;
});
$("composer").addEventListener("submit", () => { $("composer-note").textContent = ""; });

$("rich-menu-bar").addEventListener("click", () => openRichMenu($("rich-menu-panel").hidden));

loadUsers().then(poll).then(loadRichMenu);
setInterval(poll, 1000);
setInterval(() => loadUsers().then(loadRichMenu), 5000);
