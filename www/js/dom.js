// @ts-check
// The page's elements, and the pieces rows and charts are made of: text
// always goes in as text (textContent, setAttribute), never as HTML.


/** The element with this id (typed loosely: each caller knows what it asked for). */
/** @type {(id: string) => any} */
export const $ = (id) => document.getElementById(id);

export function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
}

/** A cell of two lines: the value, and a smaller one under it. */
export function twoLines(main, mainClass, sub, subClass, className) {
    const td = document.createElement("td");
    td.className = className;
    const top = document.createElement("span");
    top.className = mainClass;
    top.textContent = main;
    const under = document.createElement("span");
    under.className = `sub ${subClass}`;
    under.textContent = sub;
    td.append(top, under);
    return td;
}

const SVG = "http://www.w3.org/2000/svg";
export function svg(name, attributes) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    return node;
}
