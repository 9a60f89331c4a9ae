/* signpost upload.js: send a file straight to object storage with an upload ticket.
 *
 * For pages without a framework: no build step, no dependency. It knows nothing
 * of the provider: it asks the API for a ticket, posts the ticket's `fields` in
 * order and the file last as `file` (or, for a ticket with `method: "PUT"`, puts
 * the file with the ticket's signed `headers`), and turns every refusal into words a person
 * can act on (the API's JSON `error.message`, the storage's XML `<Message>`).
 *
 *   const rules = await signpost.rules(api);       // GET {api}/upload-rules
 *   input.accept = signpost.accept(rules);         // ".png,.jpg,...,image/png,..."
 *   note.textContent = signpost.describe(rules);   // "Up to 10 MB: PNG, JPEG, GIF, WebP or PDF"
 *   const cancel = new AbortController();
 *   signpost.upload(file, {api, rules, signal: cancel.signal, onProgress: (f) => ...})
 *     .then(({url, key, notice}) => ...)  // url: where the object now lives;
 *                                         // notice: stored, but the upload callback failed
 *     .catch((error) => ...)              // error.message: a sentence; error.cancelled;
 *                                         // error.retry: false when trying again cannot help
 *
 * With `rules`, a file the API would refuse (too large, empty, a type it does not
 * take, no extension to tell its type) is refused at once, without a request.
 */
(function (global) {
  "use strict";

  class UploadError extends Error {
    constructor(message, details) {
      super(message);
      this.name = "UploadError";
      this.cancelled = false;
      this.retry = true;
      this.status = 0;
      Object.assign(this, details);
    }
  }

  // Refusals about the file itself: asking again gets the same answer.
  const FINAL_STATUSES = [400, 413, 415];
  // Names people know, where the first extension upper-cased is not one.
  const TYPE_NAMES = {"image/jpeg": "JPEG", "image/pjpeg": "JPEG", "image/webp": "WebP"};

  function cancelled() {
    return new UploadError("Cancelled.", {cancelled: true});
  }

  function refused(message) {
    return new UploadError(message, {retry: false});
  }

  /** "1.5 MB", "10 MB", "320 KB", "12 bytes" (1 KB = 1024 bytes, as MAX_UPLOAD_BYTES counts). */
  function formatSize(bytes) {
    for (const [unit, size] of [["GB", 1024 ** 3], ["MB", 1024 ** 2], ["KB", 1024]]) {
      const value = bytes / size;
      if (value >= 1) return (value >= 10 ? Math.round(value) : Math.round(value * 10) / 10) + " " + unit;
    }
    return bytes + (bytes === 1 ? " byte" : " bytes");
  }

  /** ".png" for "Cat.PNG", "" for "README" or ".bashrc", as the API reads names. */
  function extensionOf(name) {
    const stem = name.replace(/\.+$/, "").replace(/^\.+/, "");
    const dot = stem.lastIndexOf(".");
    return dot < 0 ? "" : stem.slice(dot).toLowerCase();
  }

  function orList(names) {
    if (names.length < 2) return names.join("");
    return names.slice(0, -1).join(", ") + " or " + names[names.length - 1];
  }

  function typeName(type, rules) {
    if (type.endsWith("/*")) return "any " + type.split("/")[0] + " file";
    const extension = (rules.content_types[type] || [])[0];
    return TYPE_NAMES[type] || (extension ? extension.slice(1) : type.split("/")[1]).toUpperCase();
  }

  /** The accepted types by name: "PNG, JPEG, GIF, WebP or PDF"; "any image file or PDF". */
  function typeNames(rules) {
    const types = Object.keys(rules.content_types);
    const ranges = types.filter((type) => type.endsWith("/*")).map((range) => range.slice(0, -1));
    const names = types
      .filter((type) => type.endsWith("/*") || !ranges.some((range) => type.startsWith(range)))
      .map((type) => typeName(type, rules));
    return orList(names.filter((name, index) => names.indexOf(name) === index));
  }

  function describe(rules) {
    return "Up to " + formatSize(rules.max_size) + ": " + typeNames(rules);
  }

  /** For `<input type=file accept>`: every extension and type the rules list. */
  function accept(rules) {
    const items = Object.entries(rules.content_types).flatMap(([type, extensions]) => [...extensions, type]);
    return [...new Set(items)].join(",");
  }

  function isAllowed(type, rules) {
    return type in rules.content_types || type.split("/")[0] + "/*" in rules.content_types;
  }

  /** The content type to ask a ticket for, or an UploadError saying why the API would refuse. */
  function check(file, rules) {
    if (file.size === 0) throw refused("This file is empty: there is nothing to upload.");
    if (file.size > rules.max_size) {
      const size = formatSize(file.size), limit = formatSize(rules.max_size);
      throw refused(size === limit ? `This file is just over the ${limit} limit.`
                                   : `This file is ${size}, over the ${limit} limit.`);
    }
    const extension = extensionOf(file.name);
    const type = file.type.toLowerCase();
    const named = Object.keys(rules.content_types).filter((t) => rules.content_types[t].includes(extension));
    if (named.length) return named.includes(type) ? type : named[0];
    if (type && isAllowed(type, rules)) return type; // an extension the rules do not list: the API decides
    const accepted = " Accepted: " + typeNames(rules) + ".";
    if (!extension && !type) {
      throw refused("This file has no extension (such as .png), so its type is unknown: " +
                    "rename it with the right one and try again." + accepted);
    }
    const kind = extension ? extension.slice(1).toUpperCase() + " files are" : `Files of type ${type} are`;
    throw refused(kind + " not accepted here." + accepted);
  }

  /** The API's words for a refusal, from its JSON `{"error": {"message"}}`. */
  async function apiMessage(response, api) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (ignored) { /* not JSON: not a signpost answer */ }
    return `${api} answered HTTP ${response.status} without a reason: is it the upload service's address?`;
  }

  /** A JSON call to the API, every failure an UploadError with a sentence. */
  async function callApi(api, path, init) {
    if (!api) throw refused("No upload service is set: pass the API's address as `api`.");
    let response;
    try {
      response = await fetch(api.replace(/\/+$/, "") + path, init);
    } catch (error) {
      if (init.signal && init.signal.aborted) throw cancelled();
      throw new UploadError(`Could not reach the upload service at ${api}. Is it running? ` +
                            "(If it is, its CORS_ALLOW_ORIGIN must list this page's origin.)");
    }
    if (!response.ok) {
      throw new UploadError(await apiMessage(response, api),
                            {status: response.status, retry: !FINAL_STATUSES.includes(response.status)});
    }
    return response.json();
  }

  /** GET {api}/upload-rules: `{max_size, content_types: {"image/png": [".png"], ...}}`. */
  function rules(api, options) {
    const opts = options || {};
    return callApi(api, "/upload-rules", {headers: opts.headers || {}, signal: opts.signal});
  }

  /** POST {api}/upload-tickets {filename, content_type, size}. */
  function requestTicket(api, file, options) {
    const opts = options || {};
    return callApi(api, "/upload-tickets", {
      method: "POST",
      headers: Object.assign({"Content-Type": "application/json"}, opts.headers || {}),
      body: JSON.stringify({filename: file.name, content_type: opts.contentType || file.type, size: file.size}),
      signal: opts.signal,
    });
  }

  /** The storage's words for a refusal, from its XML `<Error><Message>`. */
  const CONTENT_REFUSED =
    "Refused: the file's content is not the type it was sent as, so the upload was removed. " +
    "Choose a file whose content matches its type.";

  function storageMessage(xhr) {
    if (xhr.status === 0) {
      return "The storage did not answer: the network failed, or its CORS rule does not allow this page.";
    }
    const xml = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
    const message = xml.querySelector("Error > Message");
    if (message && message.textContent.trim()) return message.textContent.trim();
    return "The storage refused the upload and gave no reason.";
  }

  /** Where the object lives: a PUT ticket's URL without its signature; a form
   *  ticket's url and its key, each segment escaped. */
  function objectUrl(ticket) {
    if (ticket.method === "PUT") return ticket.url.split("?")[0];
    return ticket.url.replace(/\/+$/, "") + "/" + ticket.key.split("/").map(encodeURIComponent).join("/");
  }

  /** What goes to the storage: a PUT ticket's body is the file itself (its
   *  signed `headers` go beside it); a form ticket's, its fields in order, then the file as `file`. */
  function storageBody(ticket, file) {
    if (ticket.method === "PUT") return file;
    const form = new FormData();
    for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value);
    form.append("file", file, file.name);
    return form;
  }

  /** Send the file as the ticket says: POST its form, or PUT with its signed headers. */
  function postToStorage(ticket, file, onProgress, signal) {
    return new Promise(function (resolve, reject) {
      if (signal && signal.aborted) return reject(cancelled());
      const body = storageBody(ticket, file);
      const xhr = new XMLHttpRequest();
      xhr.open(ticket.method || "POST", ticket.url);
      // A PUT ticket's headers are signed: each is sent exactly as given (the browser adds Content-Length).
      for (const [name, value] of Object.entries(ticket.headers || {})) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          if (onProgress) onProgress(1);
          const uploaded = {url: objectUrl(ticket), key: ticket.key};
          // OSS answers 203 when the object is stored but its upload callback
          // failed: the file is there, the app was not told. OSS words a callback
          // answered 422 "Error status : 422.": with VERIFY_CONTENT=on the app
          // found the file's content not of its type and removed it.
          if (xhr.status === 203 && /Error status\s*:\s*422\b/.test(storageMessage(xhr))) {
            return reject(new UploadError(CONTENT_REFUSED, {status: 422}));
          }
          if (xhr.status === 203) uploaded.notice = storageMessage(xhr);
          resolve(uploaded);
        } else {
          reject(new UploadError(storageMessage(xhr), {status: xhr.status}));
        }
      };
      xhr.onerror = function () { reject(new UploadError(storageMessage(xhr))); };
      xhr.onabort = function () { reject(cancelled()); };
      if (signal) signal.addEventListener("abort", function () { xhr.abort(); }, {once: true});
      xhr.send(body);
    });
  }

  /** Ticket, then upload. Options: `api` (base URL), `rules` (refuse early), `headers`
   *  (e.g. Authorization), `signal` (an AbortSignal: cancel), `onProgress`. */
  async function upload(file, options) {
    const contentType = options.rules ? check(file, options.rules) : file.type;
    const ticket = await requestTicket(options.api || "", file,
                                       {headers: options.headers, signal: options.signal, contentType: contentType});
    return postToStorage(ticket, file, options.onProgress, options.signal);
  }

  global.signpost = {
    upload: upload, rules: rules, check: check, describe: describe, accept: accept, formatSize: formatSize,
    typeNames: typeNames,
    requestTicket: requestTicket, postToStorage: postToStorage, UploadError: UploadError,
  };
})(window);
