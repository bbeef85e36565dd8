// Kreiswissen: progressive enhancement. Every form also works without this script.
"use strict";
(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  // Forms that need a confirmation (delete).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // --- Ask: streamed answers ------------------------------------------------------------------------------
  const askForm = document.getElementById("frageformular");
  if (askForm) {
    const textarea = document.getElementById("frage");
    const button = document.getElementById("fragen-knopf");
    const draft = document.getElementById("entwurf");
    const draftText = document.getElementById("entwurftext");
    const draftStatus = document.getElementById("entwurf-status");
    const conversation = document.getElementById("gespraech-id");
    const list = document.getElementById("gespraech");

    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        askForm.requestSubmit();
      }
    });

    const showError = (message) => {
      let box = document.getElementById("fragefehler");
      if (!box) {
        box = document.createElement("div");
        box.id = "fragefehler";
        box.className = "fehler";
        box.setAttribute("role", "alert");
        askForm.parentNode.insertBefore(box, askForm);
      }
      box.textContent = message;
    };

    // A new conversation appears in the history at once (the full entry with its delete button on reload).
    const addToHistory = (id, question) => {
      if (conversation.value || document.querySelector('.verlauf a[href$="' + id + '"]')) return;
      let historyList = document.querySelector(".verlauf");
      if (!historyList) {
        historyList = document.createElement("ul");
        historyList.className = "verlauf";
        const empty = document.querySelector(".seitenspalte p.klein");
        if (empty) empty.replaceWith(historyList);
        else document.querySelector(".seitenspalte").appendChild(historyList);
      }
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = "/fragen?gespraech=" + encodeURIComponent(id);
      link.textContent = question.length > 120 ? question.slice(0, 119) + "…" : question;
      link.setAttribute("aria-current", "page");
      item.appendChild(link);
      historyList.prepend(item);
    };

    askForm.addEventListener("submit", async (event) => {
      if (!window.fetch || !window.ReadableStream) return;  // old browser: the plain form post
      event.preventDefault();
      const question = textarea.value.trim();
      if (!question) return;
      const old = document.getElementById("fragefehler");
      if (old) old.remove();
      button.disabled = true;
      draft.hidden = false;
      draftText.textContent = "";
      draftStatus.textContent = "Suche in den freigegebenen Dokumenten …";
      try {
        const response = await fetch("/fragen/stream", {
          method: "POST",
          headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
          body: JSON.stringify({question: question, conversation_id: conversation.value || null}),
        });
        if (!response.ok) {
          let message = "Die Frage konnte nicht beantwortet werden.";
          try { message = (await response.json()).error.message; } catch (e) { /* keep the default */ }
          showError(message);
          return;
        }
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, {stream: true});
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let name = "message";
            let data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event: ")) name = line.slice(7);
              else if (line.startsWith("data: ")) data += line.slice(6);
            }
            if (!data) continue;
            const payload = JSON.parse(data);
            if (name === "draft") {
              draftStatus.textContent = "Entwurf des Sprachmodells – wird anschließend gegen die Quellen geprüft:";
              draftText.textContent += payload.text;
            } else if (name === "error") {
              showError(payload.message);
            } else if (name === "answer") {
              const holder = document.createElement("div");
              holder.innerHTML = payload.html;  // rendered and escaped by the server's template
              const article = holder.firstElementChild;
              list.appendChild(article);
              addToHistory(payload.conversation_id, question);
              conversation.value = payload.conversation_id;
              history.replaceState(null, "", "/fragen?gespraech=" + encodeURIComponent(payload.conversation_id));
              textarea.value = "";
              document.querySelector('label[for="frage"]').textContent = "Folgefrage";
              const heading = article.querySelector("h2");
              heading.setAttribute("tabindex", "-1");
              heading.focus();
            }
          }
        }
      } catch (e) {
        showError("Die Verbindung zum Server ist unterbrochen. Bitte erneut versuchen.");
      } finally {
        button.disabled = false;
        draft.hidden = true;
      }
    });
  }

  // --- Feedback without reloading the page ---------------------------------------------------------------
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.classList || !form.classList.contains("bewertung") || !window.fetch) return;
    event.preventDefault();
    const data = new FormData(form);
    if (event.submitter && event.submitter.name) data.set(event.submitter.name, event.submitter.value);
    const response = await fetch(form.action, {method: "POST", body: data,
                                               headers: {"X-Requested-With": "fetch", "X-CSRF-Token": csrf()}});
    const box = document.createElement("p");
    box.className = response.ok ? "hinweis" : "fehler";
    box.setAttribute("role", "status");
    box.textContent = response.ok ? "Vielen Dank für Ihre Bewertung." : "Die Bewertung konnte nicht gespeichert werden.";
    form.replaceWith(box);
  });

  // --- Job status: rows of waiting or running jobs ask /api/v1/jobs until they are done -------------------
  const pollJobs = async (table, labels, linkOf, every) => {
    const pending = [...table.querySelectorAll("tr[data-job]")].filter(
      (tr) => ["queued", "running"].includes(tr.cells[1].className.replace("status-", "")));
    if (!pending.length) return;
    const response = await fetch("/api/v1/jobs", {headers: {"Accept": "application/json"}});
    if (response.ok) {
      const jobs = (await response.json()).jobs;
      for (const tr of pending) {
        const job = jobs.find((j) => j.id === tr.dataset.job);
        if (!job) continue;
        tr.cells[1].textContent = labels[job.status] || job.status;
        tr.cells[1].className = "status-" + job.status;
        tr.cells[2].textContent = job.message || "";
        const href = job.status === "done" && linkOf(job);
        if (href) {
          const link = document.createElement("a");
          link.href = href;
          link.textContent = job.message;
          tr.cells[2].replaceChildren(link);
        }
      }
    }
    window.setTimeout(() => pollJobs(table, labels, linkOf, every), every);
  };

  // --- Upload: drag and drop, progress per file, job status ----------------------------------------------
  const uploadForm = document.getElementById("hochladen");
  if (uploadForm) {
    const input = document.getElementById("dateien");
    const zone = document.getElementById("ablage");
    const table = document.querySelector("#auftraege tbody");
    const labels = {queued: "wartet", running: "wird eingelesen", done: "fertig", failed: "fehlgeschlagen",
                    rejected: "abgelehnt"};
    let dropped = null;

    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("ziehen"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("ziehen"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("ziehen");
      dropped = event.dataTransfer.files;
      input.required = false;
      zone.querySelector(".klein").textContent = dropped.length + " Datei(en) bereit zum Hochladen.";
    });

    const row = (name) => {
      const empty = table.querySelector("tr.leer");
      if (empty) empty.remove();
      const tr = document.createElement("tr");
      for (let i = 0; i < 4; i++) tr.appendChild(document.createElement("td"));
      tr.cells[0].textContent = name;
      const now = new Date();
      const pad = (n) => String(n).padStart(2, "0");
      tr.cells[3].textContent = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) + " "
        + pad(now.getHours()) + ":" + pad(now.getMinutes());
      table.prepend(tr);
      return tr;
    };
    const setRow = (tr, status, message) => {
      tr.cells[1].textContent = labels[status] || status;
      tr.cells[1].className = "status-" + status;
      tr.cells[2].textContent = message || "";
    };

    const poll = () => pollJobs(table, labels, (job) => job.document_id && "/dokumente/" + job.document_id, 1500);

    uploadForm.addEventListener("submit", (event) => {
      const files = dropped || input.files;
      if (!files || !files.length || !window.XMLHttpRequest) return;
      event.preventDefault();
      const fields = new FormData(uploadForm);
      fields.delete("files");
      let open = files.length;
      for (const file of files) {
        const tr = row(file.name);
        const data = new FormData();
        for (const [key, value] of fields.entries()) data.append(key, value);
        data.append("files", file, file.name);
        const xhr = new XMLHttpRequest();
        xhr.open("POST", uploadForm.action);
        xhr.setRequestHeader("X-Requested-With", "fetch");
        xhr.setRequestHeader("X-CSRF-Token", csrf());
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) setRow(tr, "queued", "Hochladen … " + Math.round(100 * e.loaded / e.total) + " %");
        };
        xhr.onload = () => {
          let result = null;
          try { result = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
          const job = result && result.jobs ? result.jobs[0] : null;
          if (job && job.job_id) { tr.dataset.job = job.job_id; setRow(tr, "queued", ""); }
          else if (job) setRow(tr, "rejected", job.message);
          else setRow(tr, "rejected", (result && result.error && result.error.message) || "Hochladen fehlgeschlagen.");
          if (--open === 0) poll();
        };
        xhr.onerror = () => { setRow(tr, "rejected", "Verbindung unterbrochen."); if (--open === 0) poll(); };
        xhr.send(data);
      }
      uploadForm.reset();
      dropped = null;
      input.required = true;
    });
    window.setTimeout(poll, 500);
  }
  // --- Niederschriften: status of drafts being made (transcription takes minutes) -----------------------------
  const minutesForm = document.getElementById("niederschrift-neu");
  if (minutesForm && window.fetch) {
    const table = document.querySelector("#auftraege tbody");
    const labels = {queued: "wartet", running: "in Arbeit", done: "fertig", failed: "fehlgeschlagen"};
    const pollMinutes = () => pollJobs(table, labels, (job) => job.minutes_id && "/niederschriften/" + job.minutes_id,
                                       2000);
    window.setTimeout(pollMinutes, 500);
  }

  // --- Vorgänge: copy the draft (the copy is recorded in the history) and insert text blocks ---------------
  const answer = document.getElementById("antwort");
  const copyButton = document.getElementById("kopieren");
  if (answer && copyButton && navigator.clipboard && window.fetch) {
    const status = document.getElementById("kopier-status");
    copyButton.hidden = false;
    copyButton.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(answer.value);
        status.textContent = "In die Zwischenablage kopiert.";
        fetch("/vorgaenge/" + copyButton.dataset.case + "/kopiert", {
          method: "POST", headers: {"x-csrf-token": csrf()}, credentials: "same-origin"});
      } catch (e) {
        status.textContent = "Kopieren nicht möglich; bitte den Text markieren und kopieren.";
      }
    });
  }
  if (answer && !answer.readOnly) {
    document.querySelectorAll(".baustein-einfuegen").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", () => {
        const text = button.parentElement.querySelector(".baustein-text").textContent.trim();
        const at = answer.selectionStart || 0;
        answer.value = answer.value.slice(0, at) + text + "\n\n" + answer.value.slice(at);
        answer.focus();
        answer.selectionStart = answer.selectionEnd = at + text.length + 2;
      });
    });
  }
})();
