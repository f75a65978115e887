// The decode comparison in a browser: the package's browser entry (bundled
// by Vite as an app would bundle it) against the same competitors as Node.
import * as ce from "crowd-envelope";
import schema from "crowd-envelope-schema";
import forms from "crowd-envelope-forms";
import { runSuite } from "../suite.mjs";

const progress = document.getElementById("progress");
setTimeout(() => {
    try {
        window.__results = { runtime: navigator.userAgent, ...runSuite(ce, schema, (m) => (progress.textContent = m), forms) };
    } catch (error) {
        window.__results = { error: String(error) };
    }
}, 0);
