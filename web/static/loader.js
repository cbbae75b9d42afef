// Loads the Go WebAssembly app with a progress bar. The server sends the
// bundle compressed; X-Raw-Length gives the size the browser will read.
(async () => {
  const bar = document.getElementById("loading-bar");
  const text = document.getElementById("loading-text");
  const fail = (msg) => {
    text.textContent = "";
    const notice = document.getElementById("notice");
    notice.textContent = msg;
    notice.hidden = false;
  };
  try {
    const resp = await fetch("app.wasm");
    if (!resp.ok) {
      fail("Cannot load app.wasm: " + resp.status + " " + (await resp.text()));
      return;
    }
    const total = Number(resp.headers.get("X-Raw-Length") || resp.headers.get("Content-Length") || 0);
    let loaded = 0;
    const counted = new ReadableStream({
      async start(controller) {
        const reader = resp.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          loaded += value.byteLength;
          if (total) {
            bar.value = loaded / total;
            text.textContent = Math.round(100 * loaded / total) + "%";
          }
          controller.enqueue(value);
        }
        controller.close();
      },
    });
    const go = new Go();
    const wasm = new Response(counted, { headers: { "Content-Type": "application/wasm" } });
    const { instance } = await WebAssembly.instantiateStreaming(wasm, go.importObject);
    console.debug("ssekit: wasm instantiated after " + Math.round(performance.now()) + " ms");
    document.getElementById("loading").hidden = true;
    document.getElementById("app").hidden = false;
    await go.run(instance);
  } catch (err) {
    fail("The app failed to start: " + err);
  }
})();
