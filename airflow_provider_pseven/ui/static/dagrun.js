// The "pSeven runs" view of a DAG run: what each task recorded, with a link to its tab. Text only.
"use strict";
(function () {
  const API = document.body.dataset.api;
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "text") node.textContent = value; else node.setAttribute(key, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }
  async function load() {
    const root = document.getElementById("app");
    root.textContent = "";
    try {
      const answer = await fetch(API, { credentials: "same-origin" });
      if (!answer.ok) throw new Error(answer.status === 403 ? "403: you do not have access to this DAG run" : answer.status + " " + answer.statusText);
      const data = await answer.json();
      root.append(el("h2", { text: "pSeven runs of this DAG run" }));
      if (!data.runs.length) { root.append(el("p", { class: "muted", text: "No task of this DAG run recorded a pSeven run." })); return; }
      const head = el("tr", {}, ...["Task", "Map index", "Run", "Recorded state", "Connection", ""].map((h) => el("th", { text: h })));
      const rows = data.runs.map((r) => el("tr", {},
        el("td", { text: r.task_id }), el("td", { text: r.map_index >= 0 ? String(r.map_index) : "" }),
        el("td", { text: r.name || r.run_id }), el("td", { text: r.state || "" }), el("td", { text: r.conn_id || "" }),
        el("td", {}, el("a", { href: r.tab, target: "_top", text: "open tab" }))));
      root.append(el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)));
    } catch (error) {
      root.append(el("p", { class: "notice error", text: error.message }));
    }
  }
  load();
})();
