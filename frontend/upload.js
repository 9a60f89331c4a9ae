/* signpost upload.js: send a file straight to object storage with an upload ticket.
 *
 * No build step, no dependency. It knows nothing of the provider: it asks the
 * API for a ticket, posts the ticket's `fields` in order and the file last as
 * `file`, and turns every refusal into words a person can act on (the API's
 * JSON `error.message`, the storage's XML `<Message>`), never a bare status.
 *
 *   signpost.upload(file, {api: "https://api.example.com", onProgress: (f) => ...})
 *     .then(({url, key, notice}) => ...) // url: where the object now lives;
 *                                        // notice: stored, but the upload callback failed
 *     .catch((error) => error.message) // a sentence
 */
(function (global) {
  "use strict";

  class UploadError extends Error {}

  /** The API's words for a refusal, from its JSON `{"error": {"message"}}`. */
  async function apiMessage(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (ignored) { /* not JSON: say so below */ }
    return "The upload service refused the file and gave no reason.";
  }

  /** Ask the API for a ticket: POST {api}/upload-tickets {filename, content_type, size}. */
  async function requestTicket(api, file, headers) {
    let response;
    try {
      response = await fetch(api.replace(/\/+$/, "") + "/upload-tickets", {
        method: "POST",
        headers: Object.assign({"Content-Type": "application/json"}, headers || {}),
        body: JSON.stringify({filename: file.name, content_type: file.type, size: file.size}),
      });
    } catch (error) {
      throw new UploadError("Could not reach the upload service. Check your connection and try again.");
    }
    if (!response.ok) throw new UploadError(await apiMessage(response));
    return response.json();
  }

  /** The storage's words for a refusal, from its XML `<Error><Message>`. */
  function storageMessage(xhr) {
    if (xhr.status === 0) {
      return "The storage did not answer: the network failed, or its CORS rule does not allow this page.";
    }
    const xml = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
    const message = xml.querySelector("Error > Message");
    if (message && message.textContent.trim()) return message.textContent.trim();
    return "The storage refused the upload and gave no reason.";
  }

  /** Where the object lives: the ticket's url and its key, each segment escaped. */
  function objectUrl(ticket) {
    return ticket.url.replace(/\/+$/, "") + "/" + ticket.key.split("/").map(encodeURIComponent).join("/");
  }

  /** POST the ticket's fields, in order, then the file as `file`. */
  function postToStorage(ticket, file, onProgress) {
    return new Promise(function (resolve, reject) {
      const form = new FormData();
      for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value);
      form.append("file", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open(ticket.method || "POST", ticket.url);
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          if (onProgress) onProgress(1);
          const uploaded = {url: objectUrl(ticket), key: ticket.key};
          // OSS answers 203 when the object is stored but its upload callback
          // failed: the file is there, the app was not told.
          if (xhr.status === 203) uploaded.notice = storageMessage(xhr);
          resolve(uploaded);
        } else {
          reject(new UploadError(storageMessage(xhr)));
        }
      };
      xhr.onerror = function () { reject(new UploadError(storageMessage(xhr))); };
      xhr.send(form);
    });
  }

  /** Ticket, then upload. Options: `api` (base URL), `headers` (e.g. Authorization), `onProgress`. */
  async function upload(file, options) {
    const ticket = await requestTicket(options.api || "", file, options.headers);
    return postToStorage(ticket, file, options.onProgress);
  }

  global.signpost = {upload: upload, requestTicket: requestTicket, postToStorage: postToStorage, UploadError: UploadError};
})(window);
