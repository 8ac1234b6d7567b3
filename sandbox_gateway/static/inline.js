/* One hosted field (runs inside its iframe, on the gateway's origin). It answers only messages
 * from the parent page's origin (given in its URL) and the parent window, sends only to that
 * origin, and never tells the page its value: only whether it is valid or empty. */
(function () {
  "use strict";
  var body = document.body;
  var field = body.getAttribute("data-field");
  var parentOrigin = body.getAttribute("data-parent");
  var key = body.getAttribute("data-key");
  var instance = body.getAttribute("data-instance");
  var session = body.getAttribute("data-session");
  var input = document.getElementById("field");
  // The page's customCss as a constructed sheet (CSSOM, so no inline <style> under our CSP).
  var styled = window.CSSStyleSheet ? new CSSStyleSheet() : null;
  if (styled) document.adoptedStyleSheets = [styled];
  var touched = false;

  function tell(message) {
    message.field = field;
    message.instance = instance;
    window.parent.postMessage(message, parentOrigin);
  }

  function digits(value) { return value.replace(/[\s-]/g, ""); }
  function luhn(number) {
    var sum = 0;
    for (var i = 0; i < number.length; i++) {
      var d = Number(number.charAt(number.length - 1 - i));
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }
  function aba(number) {
    if (!/^\d{9}$/.test(number)) return false;
    var w = [3, 7, 1, 3, 7, 1, 3, 7, 1], sum = 0;
    for (var i = 0; i < 9; i++) sum += Number(number.charAt(i)) * w[i];
    return sum % 10 === 0;
  }
  // The same rules as the gateway's (sandbox_gateway/hosted.py field_problem).
  function problem() {
    var value = input.value.trim();
    if (field === "ccnumber") {
      var n = digits(value);
      if (!n) return "Card number is required";
      if (!/^\d{12,19}$/.test(n) || !luhn(n)) return "Card number is invalid";
    } else if (field === "ccexp") {
      if (!value) return "Expiration date is required";
      var m = /^(\d{2})\s*\/?\s*(\d{2})$/.exec(value);
      if (!m || Number(m[1]) < 1 || Number(m[1]) > 12) return "Expiration date must be MM/YY";
      var now = new Date();
      var year = 2000 + Number(m[2]), month = Number(m[1]);
      if (year < now.getUTCFullYear() || (year === now.getUTCFullYear() && month < now.getUTCMonth() + 1)) return "Card is expired";
    } else if (field === "cvv") {
      if (!value) return "Security code is required";
      if (!/^\d{3,4}$/.test(value)) return "Security code must be 3 or 4 digits";
    } else if (field === "checkname") {
      if (!value) return "Name on account is required";
    } else if (field === "checkaccount") {
      if (!value) return "Account number is required";
      if (!/^\d{4,17}$/.test(digits(value))) return "Account number must be 4 to 17 digits";
    } else if (field === "checkaba") {
      if (!value) return "Routing number is required";
      if (!aba(digits(value))) return "Routing number is invalid";
    }
    return "";
  }

  function validate() {
    var message = problem();
    input.setAttribute("aria-invalid", message ? "true" : "false");
    input.classList.toggle("invalid", !!message);
    input.classList.toggle("valid", !message);
    tell({ type: "validation", valid: !message, message: message });
    return !message;
  }

  function submit() {
    if (!validate()) return;
    var data = new URLSearchParams({ key: key, session: session, field: field, value: input.value });
    fetch("/token/api/field", { method: "POST", body: data, credentials: "omit" })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.valid) tell({ type: "saved" });
        else tell({ type: "validation", valid: false, message: answer.message });
      })
      .catch(function () { tell({ type: "validation", valid: false, message: "The gateway could not be reached" }); });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== parentOrigin || event.source !== window.parent) return;
    var data = event.data || {};
    if (data.type === "submit") { if (data.session) session = data.session; submit(); }
    else if (data.type === "session") { session = data.session; }
    else if (data.type === "clear") { input.value = ""; touched = false; input.classList.remove("valid", "invalid"); }
    else if (data.type === "style") {
      // Only declarations for the one input: no selectors, no at-rules, no url() loads.
      function rule(selector, text) {
        text = String(text || "").replace(/[{}<>@\\]|url\s*\(/gi, "");
        return text ? selector + "{" + text + "}" : "";
      }
      if (styled) styled.replaceSync([rule("#field", data.customCss), rule("#field:focus", data.focusCss),
        rule("#field.invalid", data.invalidCss), rule("#field.valid", data.validCss),
        rule("#field::placeholder", data.placeholderCss)].join("\n"));
    }
  });

  input.addEventListener("focus", function () { tell({ type: "focus" }); });
  input.addEventListener("blur", function () {
    tell({ type: "blur", empty: input.value === "" });
    if (touched || input.value) { touched = true; validate(); }
  });
  input.addEventListener("input", function () {
    if (input.classList.contains("invalid") && !problem()) validate();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); tell({ type: "enter" }); }
  });
  tell({ type: "ready" });
  tell({ type: "height", height: Math.ceil(document.documentElement.scrollHeight) });
})();
