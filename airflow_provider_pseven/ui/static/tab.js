// The "pSeven run" tab. Everything from the run (names, values, log, file names) goes into the
// page as text (textContent, element attributes set by the DOM API): no run data is ever parsed as
// HTML, so nothing from a run can run a script here.
"use strict";
(function () {
  const API = document.body.dataset.api;
  const IMAGES = /\.(png|jpe?g|gif|svg)$/i;
  const CSV = /\.csv$/i;
  let timer = null;
  let lastState = null;

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "onclick") node.addEventListener("click", value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  async function getJson(url, options) {
    const answer = await fetch(url, Object.assign({ credentials: "same-origin" }, options || {}));
    let body = null;
    try { body = await answer.json(); } catch (e) { body = null; }
    if (!answer.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : answer.statusText;
      throw new Error(answer.status === 403 ? "403: you do not have access to this task instance (" + detail + ")" : answer.status + ": " + detail);
    }
    return body;
  }

  function fileUrl(path, inline) {
    return API + "/download?path=" + encodeURIComponent(path) + (inline ? "&inline=true" : "");
  }

  function table(headers, rows) {
    const head = el("tr", {}, ...headers.map((h) => el("th", { text: h })));
    const body = rows.map((cells) => el("tr", {}, ...cells.map((c, i) => el("td", { text: String(c), class: i ? "value" : "" }))));
    return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
  }

  function valuesTable(title, rows, empty) {
    const box = el("section", {}, el("h3", { text: title }));
    if (!rows || !rows.length) box.append(el("p", { class: "muted", text: empty }));
    else box.append(table(["Name", "Value"], rows.map((r) => [r.name, r.secret ? "Secret: " + r.value : r.value])));
    return box;
  }

  function parseCsv(text, maxRows) {
    const rows = [];
    for (const line of text.split(/\r?\n/)) {
      if (rows.length >= maxRows) break;
      if (!line) continue;
      const cells = [];
      let cell = "", quoted = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (quoted) {
          if (c === '"' && line[i + 1] === '"') { cell += '"'; i++; }
          else if (c === '"') quoted = false;
          else cell += c;
        } else if (c === '"') quoted = true;
        else if (c === "," || c === ";") { cells.push(cell); cell = ""; }
        else cell += c;
      }
      cells.push(cell);
      rows.push(cells.slice(0, 50));
    }
    return rows;
  }

  async function csvPreview(path, box) {
    box.textContent = "";
    try {
      const answer = await fetch(fileUrl(path, true), { credentials: "same-origin" });
      if (!answer.ok) throw new Error(answer.status + " " + answer.statusText);
      const reader = answer.body.getReader();
      let received = new Uint8Array(0);
      while (received.length < 65536) {
        const { done, value } = await reader.read();
        if (done) break;
        const joined = new Uint8Array(received.length + value.length);
        joined.set(received); joined.set(value, received.length);
        received = joined;
      }
      reader.cancel().catch(() => {});
      const rows = parseCsv(new TextDecoder().decode(received.slice(0, 65536)), 21);
      if (!rows.length) { box.append(el("p", { class: "muted", text: "(empty file)" })); return; }
      box.append(table(rows[0], rows.slice(1)), el("p", { class: "muted", text: "First rows only; download for the whole file." }));
    } catch (error) {
      box.append(el("p", { class: "notice error", text: "Preview failed: " + error.message }));
    }
  }

  function fileItem(folder, entry) {
    const path = folder ? folder + "/" + entry.name : entry.name;
    const item = el("li", { "data-path": path });
    if (entry.dir) {
      const children = el("ul", { class: "tree" });
      let open = false;
      item.append(el("button", { class: "link", text: "▸ " + entry.name + "/", onclick: async () => {
        open = !open;
        children.textContent = "";
        if (!open) return;
        try {
          const data = await getJson(API + "/files?path=" + encodeURIComponent(path));
          if (data.status !== "ok") children.append(el("li", { class: "notice", text: data.message }));
          else for (const child of data.entries) children.append(fileItem(path, child));
        } catch (error) { children.append(el("li", { class: "notice error", text: error.message })); }
      } }), children);
      return item;
    }
    item.append(el("a", { href: fileUrl(path, false), text: entry.name }), el("span", { class: "muted", text: "  " + entry.size + " bytes" }));
    if (IMAGES.test(entry.name)) {
      item.append(el("img", { class: "preview", src: fileUrl(path, true), alt: entry.name, loading: "lazy" }));
    } else if (CSV.test(entry.name)) {
      const box = el("div", {});
      item.append(" ", el("button", { class: "link", text: "preview", onclick: () => csvPreview(path, box) }), box);
      if (!folder) csvPreview(path, box);
    }
    return item;
  }

  function header(data, state, terminal) {
    const run = data.run || data.task || {};
    const badge = el("span", { class: "state " + state, id: "state", text: state });
    const box = el("header", {}, el("h2", { text: run.name || "pSeven run " + ((data.task || {}).run_id || "") }), badge);
    if (!terminal) box.append(el("span", { class: "muted", id: "live", text: "  live: refreshing every " + data.refresh_seconds + " s" }));
    return box;
  }

  function recordedTable(task) {
    const rows = Object.entries(task || {}).map(([k, v]) => [k, v]);
    return el("section", {}, el("h3", { text: "What the task recorded" }), table(["Field", "Value"], rows));
  }

  async function interrupt(button, notice) {
    button.disabled = true;
    try {
      const data = await getJson(API + "/interrupt", { method: "POST", headers: { "X-Requested-By": "pseven-ui" } });
      notice.textContent = data.message || "";
    } catch (error) {
      notice.textContent = "Interrupt refused: " + error.message;
      button.disabled = false;
    }
  }

  function render(data) {
    const root = document.getElementById("app");
    root.textContent = "";
    if (data.status === "none" || data.status === "no_connection" || data.status === "error") {
      root.append(el("p", { class: "notice" + (data.status === "error" ? " error" : ""), id: "message", text: data.message }));
      if (data.task) root.append(recordedTable(data.task));
      return;
    }
    if (data.status === "deleted") {
      root.append(header(data, "deleted", true), el("p", { class: "notice", id: "message", text: data.message }), recordedTable(data.task));
      return;
    }
    const run = data.run;
    lastState = run.state;
    root.append(header(data, run.state, run.terminal));
    if (!run.terminal) {
      const notice = el("span", { class: "muted" });
      const button = el("button", { id: "interrupt", text: "Interrupt run" });
      button.addEventListener("click", () => interrupt(button, notice));
      root.append(el("div", { class: "actions" }, button, " ", notice));
    }
    root.append(valuesTable("Parameters", run.parameters, "No parameters."));
    root.append(valuesTable("Results", run.results, run.terminal ? "No results." : "No results yet."));
    const log = el("pre", { class: "log", id: "log", text: data.log.text || "(the log is empty or not written yet)" });
    root.append(el("section", {}, el("h3", { text: "Log (last lines)" }), log));
    const tree = el("ul", { class: "tree", id: "files" });
    for (const entry of data.files.entries) tree.append(fileItem("", entry));
    const files = el("section", {}, el("h3", { text: "Run directory" }), tree);
    if (data.files.error) files.append(el("p", { class: "notice error", text: data.files.error }));
    root.append(files, recordedTable(data.task));
    log.scrollTop = log.scrollHeight;
    if (!run.terminal) follow(data.refresh_seconds);
  }

  function follow(seconds) {
    if (timer) clearInterval(timer);
    timer = setInterval(async () => {
      try {
        const state = await getJson(API + "/state");
        if (state.status !== "ok" || state.state !== lastState) { clearInterval(timer); timer = null; return load(); }
        const log = await getJson(API + "/log");
        const pre = document.getElementById("log");
        if (pre && log.status === "ok") {
          const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          pre.textContent = log.text || "(the log is empty or not written yet)";
          if (atEnd) pre.scrollTop = pre.scrollHeight;
          if (log.state !== lastState) { clearInterval(timer); timer = null; return load(); }
        }
      } catch (error) { /* a failed refresh is retried at the next tick */ }
    }, seconds * 1000);
  }

  async function load() {
    try { render(await getJson(API)); }
    catch (error) {
      const root = document.getElementById("app");
      root.textContent = "";
      root.append(el("p", { class: "notice error", id: "message", text: error.message }));
    }
  }

  load();
})();
