// faithex report: the per-example viewer. Every value from the run (inputs, prompts, model outputs) is put into
// the page with textContent, never as HTML. Rows are drawn a page at a time, so thousands of examples stay fast.
(function () {
  "use strict";
  const source = document.getElementById("viewer-data");
  if (!source) return;
  const rows = JSON.parse(source.textContent);
  const PAGE = 100;
  let shown = PAGE;
  let matching = [];

  const $ = (id) => document.getElementById(id);
  const search = $("viewer-search");
  const only = { error: $("only-errors"), disagree: $("only-disagreements"), failed: $("only-failures") };
  const selects = { task: $("viewer-task"), regime: $("viewer-regime"), protocol: $("viewer-protocol") };
  const body = $("viewer-body");
  const count = $("viewer-count");
  const more = $("viewer-more");

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  // what the text search looks through, lower-cased once
  for (const row of rows) {
    const outputs = Object.values(row.outputs || {}).filter((v) => v !== null).join("\n");
    row.haystack = [row.id, row.input, outputs, row.answer, row.gold].join("\n").toLowerCase();
  }

  for (const [key, select] of Object.entries(selects)) {
    const values = Array.from(new Set(rows.map((r) => String(r[key])))).sort();
    for (const value of values) select.appendChild(element("option", value));
  }

  function keep(row, words) {
    for (const [flag, box] of Object.entries(only)) {
      if (box.checked && !row.flags[flag]) return false;
    }
    for (const [key, select] of Object.entries(selects)) {
      if (select.value && String(row[key]) !== select.value) return false;
    }
    return words.every((w) => row.haystack.includes(w));
  }

  function flagBadges(row) {
    const cell = element("td", null, "flags");
    if (row.flags.error) cell.appendChild(element("span", "error", "flag-error"));
    if (row.flags.disagree) cell.appendChild(element("span", row.flags.disagree_label || "disagrees", "flag-disagree"));
    if (row.flags.failed) cell.appendChild(element("span", "parse failure: " + row.failed.join(", "), "flag-failed"));
    if (!row.flags.error && !row.flags.disagree && !row.flags.failed) cell.appendChild(element("span", "ok", "flag-ok"));
    return cell;
  }

  function heatMap(attribution) {
    const line = element("div", null, "heat");
    const top = Math.max(1e-9, ...attribution.scores.map((s) => Math.abs(s)));
    attribution.words.forEach((word, i) => {
      const score = attribution.scores[i];
      const alpha = Math.min(1, Math.abs(score) / top).toFixed(2);
      const span = element("span", word);
      span.style.background = score >= 0 ? `rgba(46,160,67,${alpha})` : `rgba(218,54,51,${alpha})`;
      span.title = score.toFixed(4);
      line.appendChild(span);
      line.appendChild(document.createTextNode(" "));
    });
    return line;
  }

  function detail(row) {
    const grid = element("div", null, "detail-grid");
    const add = (key, value, pre) => {
      if (value === null || value === undefined || value === "") return;
      grid.appendChild(element("div", key, "key"));
      const holder = pre ? element("pre", value) : element("div", value);
      grid.appendChild(holder);
    };
    add("input", row.input, true);
    if (row.attribution) {
      grid.appendChild(element("div", "attribution", "key"));
      grid.appendChild(heatMap(row.attribution));
    }
    add("gold", row.gold);
    if (row.gold_reasoning) add("gold reasoning", row.gold_reasoning, true);
    for (const [name, value] of Object.entries(row.outputs || {})) add("output: " + name, value, true);
    for (const [name, value] of Object.entries(row.parsed || {})) {
      if (value !== null) add("parsed: " + name, typeof value === "object" ? JSON.stringify(value) : value);
    }
    for (const [name, value] of Object.entries(row.check || {})) add("check: " + name, value);
    for (const [name, value] of Object.entries(row.interventions || {})) add("intervened: " + name, value, true);
    for (const [name, value] of Object.entries(row.prompts || {})) add("prompt: " + name, value, true);
    return grid;
  }

  function line(row) {
    const tr = element("tr", null, "example");
    for (const key of ["task", "regime", "protocol", "seed", "id", "gold", "answer"]) tr.appendChild(element("td", row[key]));
    tr.appendChild(flagBadges(row));
    tr.addEventListener("click", () => {
      const next = tr.nextSibling;
      if (next && next.classList && next.classList.contains("detail")) { next.remove(); return; }
      const open = element("tr", null, "detail");
      const cell = element("td");
      cell.colSpan = 8;
      cell.appendChild(detail(row));
      open.appendChild(cell);
      tr.after(open);
    });
    return tr;
  }

  function draw() {
    body.replaceChildren(...matching.slice(0, shown).map(line));
    count.textContent = `${Math.min(shown, matching.length)} of ${matching.length} matching examples shown (${rows.length} in the run)`;
    more.hidden = shown >= matching.length;
  }

  function update() {
    const words = search.value.toLowerCase().split(/\s+/).filter((w) => w);
    matching = rows.filter((row) => keep(row, words));
    shown = PAGE;
    draw();
  }

  let pending = null;
  search.addEventListener("input", () => { clearTimeout(pending); pending = setTimeout(update, 150); });
  for (const box of Object.values(only)) box.addEventListener("change", update);
  for (const select of Object.values(selects)) select.addEventListener("change", update);
  more.addEventListener("click", () => { shown += PAGE; draw(); });
  update();
})();
