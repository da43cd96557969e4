// Upload: drop MCAP files, watch them go up (XHR progress), then follow each until it is a run.
import { api, can, describeError, loginUrl, whoami } from "./api.js";
import { clear, h } from "./dom.js";
import { fmtBytes, fmtDateTime, fmtDuration } from "./format.js";

const INGEST_WAIT_MS = 10 * 60 * 1000;

function send(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/uploads");
    xhr.withCredentials = true;
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener("load", () => {
      if (xhr.status === 401) { location.assign(loginUrl()); return; }
      if (xhr.status === 202 || xhr.status === 200) resolve(xhr.response);
      else reject(new Error(describeError(xhr.status, xhr.response).message));
    });
    xhr.addEventListener("error", () => reject(new Error("the connection broke during the upload")));
    xhr.addEventListener("abort", () => reject(new Error("cancelled")));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

/** Poll until ingest made the run (404 until then). */
async function waitForRun(id, isCancelled) {
  const until = Date.now() + INGEST_WAIT_MS;
  let delay = 400;
  while (Date.now() < until && !isCancelled()) {
    try {
      return await api(`/runs/${id}`);
    } catch (err) {
      if (err.status !== 404) throw err;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 3000);
  }
  return null;
}

export async function mount(root) {
  const me = await whoami();
  let cancelled = false;
  root.append(h("section.page-head", h("div", h("h1", "Upload recordings"))));
  if (!can(me, "upload")) {
    root.append(h("div.banner.rejected", `Your token (${me.role}) cannot upload: ask an admin for an uploader, or admin token.`));
    return {};
  }
  const queue = h("div.upload-list");
  const input = h("input", { type: "file", accept: ".mcap,application/octet-stream", multiple: true, hidden: true, name: "file" });
  const zone = h("label.dropzone", { tabindex: "0" },
    input,
    h("div.drop-icon", "⇪"),
    h("div.drop-title", "Drop MCAP files here"),
    h("div.drop-sub", "or click to choose · each file becomes a run; the same file twice is recognised"));
  const pending = [];
  let busy = false;

  function item(file) {
    const bar = h("div.bar-fill", { style: { width: "0%" } });
    const state = h("span.up-state", "waiting");
    const link = h("span.up-link");
    const el = h("div.upload-item",
      h("div.up-top", h("span.up-name", file.name), h("span.muted", fmtBytes(file.size)), state),
      h("div.bar", bar),
      link);
    queue.prepend(el);
    return { file, el, bar, state, link };
  }

  async function process(it) {
    it.el.classList.add("active");
    it.state.textContent = "uploading 0%";
    try {
      const accepted = await send(it.file, (f) => {
        it.bar.style.width = `${Math.round(f * 100)}%`;
        it.state.textContent = f < 1 ? `uploading ${Math.round(f * 100)}%` : "storing…";
      });
      it.bar.style.width = "100%";
      it.el.dataset.runId = accepted.id;
      if (accepted.duplicate) {
        it.el.classList.add("duplicate");
        it.state.textContent = "already uploaded";
        it.link.append(h("span.muted", "Same content as an earlier upload (SHA-256 ", h("code", accepted.id.slice(0, 12)), "): no second run is made. "));
      } else {
        it.state.textContent = "reading the file…";
      }
      it.el.classList.add("ingesting");
      const run = await waitForRun(accepted.id, () => cancelled);
      it.el.classList.remove("ingesting");
      if (!run) {
        if (!cancelled) it.state.textContent = "still being read: it will appear in the runs list";
        return;
      }
      const ok = run.status !== "rejected";
      it.el.classList.add(ok ? "done" : "failed");
      if (!accepted.duplicate) it.state.textContent = ok ? (run.status === "recovered" ? "ready (file was cut off: recovered)" : "ready") : "rejected";
      it.link.append(
        ok ? h("span.muted", `${fmtDateTime(run.start_time)} · ${fmtDuration(run.duration_s)} · ${run.setup?.track || "unknown track"} `) : h("span.error", run.reason || "the file could not be read"),
        h("a.btn.small", { href: `/runs/${run.id}`, "data-link": true }, "Open run →"));
    } catch (err) {
      it.el.classList.add("failed");
      it.state.textContent = "failed";
      it.link.append(h("span.error", err.message));
    } finally {
      it.el.classList.remove("active");
    }
  }

  async function pump() {
    if (busy) return;
    busy = true;
    // One at a time: the base station's link is usually the narrow part.
    while (pending.length && !cancelled) await process(pending.shift());
    busy = false;
  }

  function add(files) {
    for (const f of files) pending.push(item(f));
    pump();
  }

  input.addEventListener("change", () => { add([...input.files]); input.value = ""; });
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  for (const type of ["dragenter", "dragover"]) zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("over"); });
  for (const type of ["dragleave", "drop"]) zone.addEventListener(type, () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); add([...e.dataTransfer.files]); });

  root.append(zone, queue,
    h("p.hint", "Files are streamed to storage and hashed on the way; the run id is the file's SHA-256. From a script: ",
      h("code", "pitwall.client.Client(url, token).upload(\"run.mcap\")"), " or ",
      h("code", `curl -H "Authorization: Bearer $TOKEN" -F file=@run.mcap ${location.origin}/api/v1/uploads`), "."));
  clear(queue);
  return { cleanup() { cancelled = true; } };
}
