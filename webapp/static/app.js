// Shared helpers: JSON requests carrying the CSRF token.
"use strict";
window.carenotes = {
  csrfToken: function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  },
  postJSON: function (url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": window.carenotes.csrfToken()
      },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || "The server did not accept the change (" + response.status + ").");
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }
};
