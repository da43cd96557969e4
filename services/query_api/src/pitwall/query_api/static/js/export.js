// The export builder: signals (ticked in the tree, or globs), a time window, format, layout,
// resampling; then live progress, the download, and code to load the file.
import { api } from "./api.js";
import { clear, copyText, h } from "./dom.js";
import { fmtBytes, matlabName } from "./format.js";
import { segmented } from "./widgets.js";

const FORMATS = [
  ["mat", "MAT v5", "MATLAB's classic format; switches to v7.3 by itself when a variable is too big"],
  ["mat73", "MAT v7.3", "HDF5 based: any size; MATLAB load, h5py in Python"],
  ["csv", "CSV", "one file per topic (zipped); one wide table when resampled"],
  ["parquet", "Parquet", "one file per topic (zipped); one wide table when resampled"],
];

/** A key as an exact glob: the converter takes globs, and [ * ? are glob syntax. */
function globOf(key) {
  // An element of a repeated field (`path[3]`) exports the whole field.
  const base = key.replace(/\[\d+\]$/, "");
  return base.replace(/[[*?]/g, (c) => `[${c}]`);
}

function parseNumber(text) {
  const s = String(text).trim();
  if (!s) return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : NaN;
}

// --- snippets ---------------------------------------------------------------------
function matPath(topic, path, layout) {
  const m = /^(.*)\[(\d+)\]$/.exec(path);
  const field = m ? m[1] : path;
  const col = m ? `(:, ${Number(m[2]) + 1})` : "";
  if (layout === "pairs") {
    const leaf = matlabName(field.replace(/\./g, "_")) + (m ? `_${Number(m[2]) + 1}` : "");
    return { expr: `S.data.${matlabName(topic)}.${leaf}`, pairs: true };
  }
  return { expr: `S.${matlabName(topic)}.${field.split(".").map(matlabName).join(".")}${col}`, t: `S.${matlabName(topic)}.t`, pairs: false };
}

export function snippets(filename, format, layout, resampled, examples) {
  const ex = examples.length ? examples : [{ topic: "VNData", path: "vn_vel.x" }];
  const first = ex[0];
  const m = /^(.*)\[(\d+)\]$/.exec(first.path);
  const field = m ? m[1] : first.path;
  if (format === "mat" || format === "mat73") {
    const p = matPath(first.topic, first.path, layout);
    const matlab = p.pairs
      ? `S = load('${filename}');\nd = S.data.${p.expr.slice("S.data.".length)};   % N x 2: [t value]\nplot(d(:,1), d(:,2))\n% every source signal and its MATLAB name:\ndisp(S.signal_map)`
      : `S = load('${filename}');\nplot(${p.t}, ${p.expr})\n% every source signal and its MATLAB name:\ndisp(S.signal_map)`;
    const topicVar = matlabName(first.topic);
    const parts = field.split(".").map(matlabName);
    let python;
    if (format === "mat") {
      python = p.pairs
        ? `from scipy.io import loadmat\n\nS = loadmat("${filename}", squeeze_me=True,\n            struct_as_record=False)\nd = S["data"].${topicVar}.${matlabName(field.replace(/\./g, "_"))}${m ? `_${Number(m[2]) + 1}` : ""}  # N x 2: [t, value]\nt, value = d[:, 0], d[:, 1]`
        : `from scipy.io import loadmat\n\nS = loadmat("${filename}", squeeze_me=True,\n            struct_as_record=False)\nt = S["${topicVar}"].t\nvalue = S["${topicVar}"].${parts.join(".")}${m ? `[:, ${m[2]}]` : ""}`;
    } else {
      python = p.pairs
        ? `import h5py\n\nwith h5py.File("${filename}", "r") as f:\n    d = f["data/${topicVar}/${matlabName(field.replace(/\./g, "_"))}${m ? `_${Number(m[2]) + 1}` : ""}"][()].T  # N x 2: [t, value]\nt, value = d[:, 0], d[:, 1]`
        : `import h5py\n\n# MATLAB stores arrays column-major: transpose (or ravel) what h5py reads.\nwith h5py.File("${filename}", "r") as f:\n    t = f["${topicVar}/t"][()].ravel()\n    value = f["${topicVar}/${parts.join("/")}"][()]${m ? `.T[:, ${m[2]}]` : ".ravel()"}`;
    }
    return { matlab, python };
  }
  const stem = filename.replace(/\.zip$/i, "");
  const column = resampled ? `${first.topic}:${first.path}` : first.path;
  if (format === "csv") {
    const member = resampled ? `${stem}.csv` : `${matlabName(first.topic)}.csv`;
    return {
      matlab: `unzip('${filename}', '${stem}');\nT = readtable('${stem}/${member}', 'VariableNamingRule', 'preserve');\nplot(T.t, T.("${column}"))`,
      python: `import zipfile\nimport pandas as pd\n\nz = zipfile.ZipFile("${filename}")  # z.namelist(): every file in it\ndf = pd.read_csv(z.open("${member}"))\nt, value = df["t"], df["${column}"]`,
    };
  }
  const member = resampled ? `${stem}.parquet` : `${matlabName(first.topic)}.parquet`;
  return {
    matlab: `unzip('${filename}', '${stem}');\nT = parquetread('${stem}/${member}', 'VariableNamingRule', 'preserve');\nplot(T.t, T.("${column}"))`,
    python: `import zipfile\nimport pandas as pd\n\nz = zipfile.ZipFile("${filename}")  # z.namelist(): every file in it\ndf = pd.read_parquet(z.open("${member}"))\nt, value = df["t"], df["${column}"]`,
  };
}

const mq = (text) => `'${String(text).replace(/'/g, "''")}'`;

/** The two MATLAB/Octave lines (clients/matlab) that load this selection without a download step. */
export function matlabCall(origin, runId, patterns, start, end, resampleHz) {
  const opts = [];
  if (start !== null && start !== undefined) opts.push(`'start', ${start}`);
  if (end !== null && end !== undefined) opts.push(`'end', ${end}`);
  if (resampleHz) opts.push(`'resample_hz', ${resampleHz}`);
  const sigs = `{${patterns.map(mq).join(", ")}}`;
  return `pitwall.connect(${mq(origin)}, getenv('PITWALL_TOKEN'));\n` +
    `S = pitwall.load(${mq(runId)}, ${sigs}${opts.length ? ", " + opts.join(", ") : ""});`;
}

function codeBlock(lang, text) {
  const copy = h("button.btn.small.copy", { type: "button" }, "Copy");
  copy.addEventListener("click", () => copyText(text, copy));
  return h("div.code", h("div.code-head", h("span", lang), copy), h("pre", h("code", text)));
}

// --- the builder ---------------------------------------------------------------------
/**
 * ctx: {run, selected() -> [{key, topic, path}], view() -> [t0,t1]|null, plot (PlotStack)}
 */
export class ExportBuilder {
  constructor(ctx) {
    this.ctx = ctx;
    this.format = "mat";
    this.layout = "struct";
    this.source = null;
    const duration = ctx.run.duration_s || 0;

    this.selectedList = h("div.export-selected");
    // Said under the globs when the API finds one that matches no signal of the run.
    this.globsError = h("p.error.globs-error", { id: "export-globs-error", role: "alert", hidden: true });
    this.globs = h("textarea.globs", {
      rows: 3, spellcheck: false, "aria-describedby": "export-globs-error", "aria-label": "more signals as globs, one per line",
      placeholder: "more signals as globs, one per line, e.g.\nVNData:vn_vel.*\n*:motor_temp",
      oninput: () => { this.clearGlobsError(); this.refreshSummary(); },
    });
    this.start = h("input.num-input", { type: "number", step: "0.001", min: "0", placeholder: "0", name: "start", oninput: () => this.windowEdited() });
    this.end = h("input.num-input", { type: "number", step: "0.001", min: "0", placeholder: duration.toFixed(3), name: "end", oninput: () => this.windowEdited() });
    this.resampleOn = h("input", { type: "checkbox", name: "resample", onchange: () => this.refreshOptions() });
    this.hz = h("input.num-input", { type: "number", min: "0.001", step: "any", value: "100", name: "resample_hz", disabled: true });
    this.interp = h("select", { name: "interp", disabled: true, "aria-label": "interpolation onto the time base" }, h("option", { value: "hold" }, "hold (zero-order)"), h("option", { value: "linear" }, "linear"));
    this.layoutBox = h("div.opt-row",
      h("span.opt-label", "MAT layout"),
      segmented("layout", [
        ["struct", "struct", "S.VNData.t and S.VNData.vn_vel.x: one struct per topic"],
        ["pairs", "pairs (legacy)", "data.<topic>.<leaf> = [t value]: what the team's scripts read today"],
      ], this.layout, (v) => { this.layout = v; this.refreshSummary(); }));
    this.summary = h("p.export-summary");
    this.matlab = h("div.export-matlab");
    this.error = h("p.error", { role: "alert", hidden: true });
    this.button = h("button.btn.primary", { type: "button", onclick: () => this.submit() }, "Export");
    this.result = h("div.export-result");

    this.el = h("div.export",
      h("div.export-grid",
        h("div.export-col",
          h("div.opt-label", "Signals"),
          this.selectedList,
          this.globs,
          this.globsError),
        h("div.export-col",
          h("div.opt-row",
            h("span.opt-label", "Window"),
            h("label.inline", "from ", this.start, " s"),
            h("label.inline", "to ", this.end, " s")),
          h("div.opt-row.window-buttons",
            h("button.btn.small", { type: "button", onclick: () => this.setWindow(null) }, "Whole run"),
            h("button.btn.small", { type: "button", onclick: () => this.setWindow(ctx.view()) }, "Plot view"),
            h("span.muted.small", "or shift+drag on the plot")),
          h("div.opt-row",
            h("span.opt-label", "Format"),
            segmented("format", FORMATS, this.format, (v) => { this.format = v; this.refreshOptions(); })),
          this.layoutBox,
          h("div.opt-row",
            h("label.check", this.resampleOn, " Resample to one time base"),
            h("label.inline", this.hz, " Hz"),
            this.interp))),
      h("div.export-go", this.button, this.summary),
      this.matlab,
      this.error,
      this.result);
    this.refreshSelected();
    this.refreshOptions();
  }

  destroy() {
    if (this.source) this.source.close();
    clearInterval(this.poller);
  }

  windowEdited() {
    const [a, b] = this.readWindow();
    if (!Number.isNaN(a) && !Number.isNaN(b)) {
      this.ctx.plot.setExportWindow(a === null && b === null ? null : [a ?? 0, b ?? this.ctx.run.duration_s]);
    }
    this.refreshSummary();
  }

  /** [t0, t1] from the plot (or null: the whole run). */
  setWindow(win) {
    this.start.value = win ? win[0].toFixed(3) : "";
    this.end.value = win ? win[1].toFixed(3) : "";
    this.ctx.plot.setExportWindow(win);
    this.refreshSummary();
  }

  readWindow() {
    return [parseNumber(this.start.value), parseNumber(this.end.value)];
  }

  refreshOptions() {
    const mat = this.format === "mat" || this.format === "mat73";
    this.layoutBox.hidden = !mat;
    this.hz.disabled = !this.resampleOn.checked;
    this.interp.disabled = !this.resampleOn.checked;
    this.refreshSummary();
  }

  refreshSelected() {
    const sel = this.ctx.selected();
    clear(this.selectedList);
    if (!sel.length) {
      this.selectedList.append(h("p.muted.small", "Tick signals in the tree (they are plotted too), or type globs below."));
    } else {
      this.selectedList.append(h("div.chips", sel.map((s) => h("span.chip.static", { title: s.key }, s.key))));
    }
    this.refreshSummary();
  }

  patterns() {
    const fromTree = this.ctx.selected().map((s) => globOf(s.key));
    const typed = this.globs.value.split(/\n/).map((s) => s.trim()).filter(Boolean);
    return [...new Set([...fromTree, ...typed])];
  }

  refreshSummary() {
    const n = this.patterns().length;
    const picked = this.ctx.selected().length;
    const typed = n - new Set(this.ctx.selected().map((x) => globOf(x.key))).size;
    const what = [picked ? `${picked} signal${picked === 1 ? "" : "s"}` : null, typed > 0 ? `${typed} glob${typed === 1 ? "" : "s"}` : null]
      .filter(Boolean).join(" + ");
    const [a, b] = this.readWindow();
    const fmt = FORMATS.find((f) => f[0] === this.format)[1];
    const win = a === null && b === null ? "whole run" : `${a ?? 0} – ${b ?? "end"} s`;
    this.summary.textContent = `${n ? what : "all signals"} · ${win} · ${fmt}` +
      (this.format.startsWith("mat") ? ` ${this.layout}` : "") + (this.resampleOn.checked ? ` · ${this.hz.value} Hz` : "");
    this.button.textContent = n ? "Export" : "Export all signals";
    const [s0, s1] = [a, b].map((v) => (Number.isNaN(v) ? null : v));
    const hz = this.resampleOn.checked ? parseNumber(this.hz.value) : null;
    const call = matlabCall(window.location.origin, this.ctx.run.id, this.patterns(), s0, s1, hz && !Number.isNaN(hz) ? hz : null);
    this.matlab.replaceChildren(codeBlock("MATLAB / Octave, no download (clients/matlab)", call));
  }

  body() {
    const [start, end] = this.readWindow();
    if (Number.isNaN(start) || Number.isNaN(end)) throw new Error("the window needs numbers (seconds since the start of the run)");
    if (start !== null && end !== null && end <= start) throw new Error("the window ends before it starts");
    const body = { runs: [this.ctx.run.id], signals: this.patterns(), format: this.format, layout: this.layout };
    if (start !== null) body.start = start;
    if (end !== null) body.end = end;
    if (this.resampleOn.checked) {
      const hz = parseNumber(this.hz.value);
      if (!hz || hz <= 0 || Number.isNaN(hz)) throw new Error("the resample rate must be a positive number of Hz");
      body.resample_hz = hz;
      body.interp = this.interp.value;
    }
    return body;
  }

  async submit() {
    this.error.hidden = true;
    this.clearGlobsError();
    let body;
    try { body = this.body(); } catch (err) { this.showError(err.message); return; }
    if (this.source) this.source.close();
    clearInterval(this.poller);
    this.button.disabled = true;
    const examples = this.ctx.selected().filter((s) => s.kind !== "string");
    this.progressView();
    try {
      const accepted = await api("/exports", { method: "POST", body });
      this.follow(accepted, { body, examples });
    } catch (err) {
      this.button.disabled = false;
      clear(this.result);
      if (err.fields && err.fields.signals) this.showGlobsError(err.fields.signals);
      else this.showError(err.message);
    }
  }

  /** A glob the run has no signal for: named where it was typed, never dropped silently. */
  showGlobsError(message) {
    this.globsError.textContent = `${message}: fix or remove it, then export again`;
    this.globsError.hidden = false;
    this.globs.setAttribute("aria-invalid", "true");
    this.globs.focus();
  }

  clearGlobsError() {
    this.globsError.hidden = true;
    this.globs.removeAttribute("aria-invalid");
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = false;
  }

  progressView() {
    this.bar = h("div.bar-fill", { style: { width: "0%" } });
    this.stage = h("span.stage", "queued");
    this.percent = h("span.percent", "0%");
    this.started = performance.now();
    clear(this.result).append(h("div.progress", { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" },
      h("div.bar", this.bar), h("div.progress-text", this.stage, this.percent)));
  }

  update(st) {
    const pct = Math.round((st.progress || 0) * 100);
    this.bar.style.width = `${pct}%`;
    this.result.querySelector(".progress").setAttribute("aria-valuenow", String(pct));
    this.percent.textContent = `${pct}%`;
    const secs = ((performance.now() - this.started) / 1000).toFixed(1);
    this.stage.textContent = `${st.status === "running" ? st.stage || "running" : st.status} · ${secs} s`;
  }

  follow(accepted, info) {
    let finished = false;
    const finish = (st) => {
      if (finished) return;
      finished = true;
      if (this.source) { this.source.close(); this.source = null; }
      clearInterval(this.poller);
      this.button.disabled = false;
      if (st.status === "done") this.done(st, info); else this.failed(st.reason || st.detail || "the export failed");
    };
    const poll = () => {
      clearInterval(this.poller);
      this.poller = setInterval(async () => {
        try {
          const st = await api(accepted.status_url.replace(/^\/api\/v1/, ""));
          this.update(st);
          if (st.status === "done" || st.status === "failed") finish(st);
        } catch (err) {
          if (err.status === 404) finish({ status: "failed", reason: err.message });
        }
      }, 700);
    };
    if (!window.EventSource) { poll(); return; }
    // Server-sent events carry every change; polling takes over if the stream breaks.
    const source = new EventSource(accepted.events_url);
    this.source = source;
    source.addEventListener("progress", (e) => this.update(JSON.parse(e.data)));
    source.addEventListener("done", (e) => { const st = JSON.parse(e.data); this.update(st); finish(st); });
    source.addEventListener("failed", (e) => finish(JSON.parse(e.data)));
    source.addEventListener("error", (e) => {
      if (finished) return;
      if (e.data) { finish({ status: "failed", reason: JSON.parse(e.data).detail }); return; }
      source.close();
      this.source = null;
      poll();
    });
  }

  failed(reason) {
    clear(this.result).append(h("div.export-failed", h("strong", "Export failed: "), reason));
  }

  done(st, { body, examples }) {
    const filename = st.filename || "export";
    const code = snippets(filename, body.format, body.layout, Boolean(body.resample_hz), examples);
    const took = ((performance.now() - this.started) / 1000).toFixed(1);
    clear(this.result).append(
      h("div.progress.complete", h("div.bar", h("div.bar-fill", { style: { width: "100%" } })),
        h("div.progress-text", h("span.stage", `done · ${took} s${st.cached ? " · from the cache (same request before)" : ""}`), h("span.percent", "100%"))),
      h("div.download",
        h("a.btn.primary.download-link", { href: st.file_url, download: filename }, `Download ${filename}`),
        h("span.muted", fmtBytes(st.size)),
        st.download_url ? h("a.small", { href: st.download_url, title: "a direct link to the object store, valid for a few minutes" }, "direct link") : null),
      h("div.snippets", codeBlock("MATLAB", code.matlab), codeBlock("Python", code.python)),
    );
  }
}
