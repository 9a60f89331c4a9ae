/* uppy-signpost.js: @uppy/aws-s3 6.3+ uploading through signpost, with auth. No build step.
 *
 *   const signer = signpostUppy({endpoint: "https://api.example.com", headers: {Authorization: "Bearer …"}});
 *   uppy.use(AwsS3, {...signer.options, shouldUseMultipart: (file) => file.size > 16 * 1024 * 1024});
 *   signer.attach(uppy); // optional: an expired part URL is signed again and the upload goes on
 *
 * Uppy 6 calls `signRequest({method, key, uploadId?, partNumber?, contentType?})` before each
 * request it would send to the bucket, and sends that request to the `url` answered. Here every
 * decision stays with signpost, never with the browser:
 * - the key: Uppy's own proposal (`generateObjectKey`) is only a token naming the file here;
 *   signpost names the object and Uppy uses the `key` or form `fields.key` it answered;
 * - a single file: `/s3/params` answers a form ticket (`fields`: Uppy POSTs the form) or, with
 *   UPLOAD_METHOD=put, a PUT URL and the signed `headers` to send with it;
 * - multipart: create, list, complete and abort are signpost's own calls (POST /s3/multipart,
 *   GET/DELETE /s3/multipart/{id}, POST /s3/multipart/{id}/complete), made here; Uppy's request
 *   then goes to a `data:` URL holding the storage-shaped XML answer (the browser answers it
 *   itself: nothing reaches the bucket). So the content type, Content-Disposition and the
 *   overwrite guard are set by signpost's create call, and completion is signpost's: it lists
 *   the parts, refuses over the limit, completes with the listed ETags;
 * - part URLs come from /s3/multipart/{id}/batch, enough for the whole file in one call when
 *   Uppy cuts its default parts: a 100 MiB file costs 4 calls (create, batch, list, complete);
 * - a refusal is thrown as an Error whose message is the API's own words (`message`), with the
 *   HTTP `status` and the API's `code`, so the page can show it and tell whether a retry helps.
 */
(function (global) {
  "use strict";

  const MiB = 1024 * 1024;
  const MAX_BATCH_PARTS = 100; // what one /batch call signs at most (signpost's limit)
  const RESIGN_MARGIN_MS = 30 * 1000; // a URL this close to its end is signed anew, not sent
  const MAX_RESIGNS = 3;

  /** When a signed URL stops working, read from its own query (ms since the epoch; Infinity
   *  when it does not say). Measured by this browser's clock: one far off the store's makes a
   *  URL look stale early (one more /batch call per part) or late (the store's answer, below). */
  function urlExpiry(url) {
    const query = new URL(url).searchParams;
    const date = query.get("x-oss-date") || query.get("X-Amz-Date");
    const seconds = query.get("x-oss-expires") || query.get("X-Amz-Expires");
    if (date && seconds) {
      const iso = date.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z");
      return Date.parse(iso) + Number(seconds) * 1000;
    }
    const epoch = query.get("Expires"); // OSS V1: a Unix time
    return epoch ? Number(epoch) * 1000 : Infinity;
  }

  /** An upload error that an expired part URL caused: the bucket's own answer, as each store
   *  documents it. OSS V4 (x-oss-date + x-oss-expires) answers EC 0002-00000236 when the URL
   *  has expired and 0002-00000235 when it is not valid yet (clock skew), with no fixed text
   *  (alibabacloud.com/help/en/oss/support/0002-00000236 and …/0002-00000235); OSS V1 says
   *  EC 0002-00000069. S3 answers AccessDenied "Request has expired". */
  function isExpiredUrlError(error) {
    const body = (error && typeof error.body === "string") ? error.body : "";
    if (!error || error.status !== 403 || !body) return false;
    return /<EC>0002-0000023[56]<\/EC>|<EC>0002-00000069<\/EC>/.test(body) ||
      /<Code>AccessDenied<\/Code>[\s\S]*<Message>Request has expired\.?<\/Message>/.test(body);
  }

  function xmlText(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  /** A URL whose answer the browser makes itself: Uppy reads this XML as the bucket's. */
  function answered(xml) {
    return "data:application/xml," + encodeURIComponent('<?xml version="1.0" encoding="UTF-8"?>' + xml);
  }

  function signpostUppy(options) {
    const endpoint = String(options.endpoint || "").replace(/\/+$/, "");
    if (!endpoint) throw new TypeError("signpostUppy needs the API's address: {endpoint}.");
    const files = new Map(); // Uppy's proposed key (a token) -> the file it names
    const partUrls = new Map(); // uploadId -> Map(partNumber -> url)

    function headers() {
      const given = typeof options.headers === "function" ? options.headers() : options.headers;
      return Object.assign({}, given || {});
    }

    /** One call to the API: its JSON, or an Error in the API's words. */
    async function call(method, path, query, body) {
      const url = new URL(endpoint + path);
      for (const [name, value] of Object.entries(query || {})) {
        if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
      }
      const init = {method: method, headers: headers()};
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      let response;
      try {
        response = await fetch(url, init);
      } catch (cause) {
        const error = new Error("Could not reach the upload service. Check your connection and try again.");
        error.status = 0;
        error.cause = cause;
        throw error;
      }
      let answer = null;
      try { answer = await response.json(); } catch (ignored) { answer = null; }
      if (!response.ok) {
        const said = answer && (answer.message || (answer.error && answer.error.message));
        const error = new Error(said || "The upload service answered " + response.status + ".");
        error.status = response.status;
        error.code = answer && answer.error ? answer.error.code : undefined;
        throw error;
      }
      return answer;
    }

    function named(key) {
      return files.get(key) || {name: key, type: undefined, size: undefined};
    }

    /** How many parts Uppy 6 cuts by default: max(5 MiB, size / 10000) each. */
    function partCount(file) {
      if (!file.size) return MAX_BATCH_PARTS;
      return Math.ceil(file.size / Math.max(5 * MiB, Math.ceil(file.size / 10000)));
    }

    async function partUrl(request) {
      const cached = partUrls.get(request.uploadId) || new Map();
      partUrls.set(request.uploadId, cached);
      const url = cached.get(request.partNumber);
      if (url && urlExpiry(url) - RESIGN_MARGIN_MS > Date.now()) return url;
      const file = [...files.values()].find((f) => f.uploadId === request.uploadId);
      const last = Math.max(request.partNumber, file ? partCount(file) : request.partNumber);
      const count = Math.min(MAX_BATCH_PARTS, last - request.partNumber + 1);
      const numbers = Array.from({length: count}, (_, i) => request.partNumber + i);
      const answer = await call("GET", "/s3/multipart/" + encodeURIComponent(request.uploadId) + "/batch",
                                {key: request.key, partNumbers: numbers.join(",")});
      for (const [number, signed] of Object.entries(answer.presignedUrls || {})) cached.set(Number(number), signed);
      return cached.get(request.partNumber);
    }

    async function listed(request) {
      return call("GET", "/s3/multipart/" + encodeURIComponent(request.uploadId), {key: request.key});
    }

    async function signRequest(request) {
      const file = named(request.key);
      const uploadPath = request.uploadId ? "/s3/multipart/" + encodeURIComponent(request.uploadId) : "";
      if (request.method === "PUT" && request.uploadId) {
        return {url: await partUrl(request)};
      }
      if (request.method === "PUT") { // one request for the whole file
        const ticket = await call("GET", "/s3/params", {
          filename: file.name, type: request.contentType || file.type, size: file.size,
        });
        if (ticket.method === "PUT") { // UPLOAD_METHOD=put: Uppy PUTs with the signed headers
          return {method: "PUT", url: ticket.url, headers: ticket.headers || {}, key: ticket.key};
        }
        return {url: ticket.url, fields: ticket.fields};
      }
      if (request.method === "POST" && !request.uploadId) { // create: signpost's call
        const created = await call("POST", "/s3/multipart", null, {
          filename: file.name, type: file.type || "application/octet-stream", size: file.size,
        });
        file.uploadId = created.uploadId;
        return {
          key: created.key,
          url: answered("<InitiateMultipartUploadResult><Key>" + xmlText(created.key) + "</Key><UploadId>" +
                        xmlText(created.uploadId) + "</UploadId></InitiateMultipartUploadResult>"),
        };
      }
      if (request.method === "GET") { // resume: the parts stored so far
        const parts = await listed(request);
        return {url: answered("<ListPartsResult>" + parts.map((part) =>
          "<Part><PartNumber>" + part.PartNumber + "</PartNumber><ETag>" + xmlText(part.ETag) +
          "</ETag><Size>" + part.Size + "</Size></Part>").join("") + "</ListPartsResult>")};
      }
      if (request.method === "POST") { // complete: signpost lists the parts and completes
        const parts = await listed(request);
        const done = await call("POST", uploadPath + "/complete", {key: request.key}, {
          parts: parts.map((part) => ({PartNumber: part.PartNumber, ETag: part.ETag})),
        });
        partUrls.delete(request.uploadId);
        files.delete(request.key);
        return {url: answered("<CompleteMultipartUploadResult><Location>" + xmlText(done.location) +
                              "</Location><Key>" + xmlText(done.key || request.key) +
                              "</Key></CompleteMultipartUploadResult>")};
      }
      if (request.method === "DELETE" && request.uploadId) { // abort
        await call("DELETE", uploadPath, {key: request.key});
        partUrls.delete(request.uploadId);
        return {url: answered("<AbortMultipartUploadResult/>")};
      }
      throw new Error("signpost does not sign " + request.method + " requests for Uppy.");
    }

    /** Uppy's proposed key, used here only to find the file again. */
    function generateObjectKey(file) {
      const token = file.id;
      // Asked again on a retry: keep what the first time learnt (its uploadId).
      files.set(token, Object.assign(files.get(token) || {}, {name: file.name, type: file.type, size: file.size}));
      return token;
    }

    /** An expired part URL: drop the cached URLs and let Uppy go on (it lists the stored parts
     *  and asks for fresh URLs for the rest), up to MAX_RESIGNS times a file (a clock far off
     *  would make every fresh URL look expired to the store). */
    function attach(uppy) {
      const resigned = new Map(); // file ID -> times signed again
      uppy.on("upload-error", function (file, error) {
        const times = file ? resigned.get(file.id) || 0 : 0;
        if (!file || !isExpiredUrlError(error) || times >= MAX_RESIGNS) return;
        resigned.set(file.id, times + 1);
        const state = (uppy.getFile(file.id) || {}).s3Multipart; // set since the error's copy
        if (state) partUrls.delete(state.uploadId);
        uppy.retryUpload(file.id);
      });
    }

    return {options: {signRequest: signRequest, generateObjectKey: generateObjectKey}, attach: attach,
            signRequest: signRequest, isExpiredUrlError: isExpiredUrlError};
  }

  signpostUppy.isExpiredUrlError = isExpiredUrlError;
  global.signpostUppy = signpostUppy;
})(typeof window !== "undefined" ? window : globalThis);
