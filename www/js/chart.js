// @ts-check
// The scatter of crowd against market probability, redrawn at most every
// 250 ms; a point opens its envelope's detail.

import { $, svg } from "./dom.js";
import { matches } from "./filters.js";
import { MAX_POINTS, measured, state } from "./state.js";
import { decisionLabel } from "./words.js";

let chartTimer = null;
export function scheduleChart() {
    chartTimer ??= setTimeout(() => {
        chartTimer = null;
        renderChart();
    }, 250);
}

export const pointItems = new WeakMap(); // chart point -> its item

export function renderChart() {
    measured("chart", drawChart);
}

function drawChart() {
    const size = 240;
    const pad = 24;
    const scale = (p) => pad + p * (size - 2 * pad);
    const nodes = [
        svg("rect", { x: pad, y: pad, width: size - 2 * pad, height: size - 2 * pad, class: "frame" }),
        svg("line", { x1: scale(0), y1: scale(1), x2: scale(1), y2: scale(0), class: "diagonal" }),
    ];
    const label = (text, attributes) => {
        const node = svg("text", attributes);
        node.textContent = text;
        return node;
    };
    nodes.push(label("market →", { x: size - pad, y: size - 2, "text-anchor": "end" }));
    nodes.push(label("crowd ↑", { x: 4, y: pad - 10 }));
    for (const tick of [0, 0.5, 1]) {
        // Market along the bottom, crowd up the left side.
        nodes.push(svg("line", { x1: scale(tick), y1: size - pad, x2: scale(tick), y2: size - pad + 4, class: "tick" }));
        nodes.push(label(String(tick), { x: scale(tick), y: size - pad + 13, "text-anchor": "middle", class: "tick-label" }));
        nodes.push(svg("line", { x1: pad - 4, y1: scale(1 - tick), x2: pad, y2: scale(1 - tick), class: "tick" }));
        nodes.push(label(String(tick), { x: pad - 6, y: scale(1 - tick) + 3, "text-anchor": "end", class: "tick-label" }));
    }
    let points = 0;
    let above = 0;
    let unplotted = 0;
    for (let i = state.envelopes.length - 1; i >= 0 && points < MAX_POINTS; i--) {
        const item = state.envelopes[i];
        const { probability, market_probability: market } = item.envelope.prediction;
        if (!matches(item)) continue;
        if (market === null) {
            unplotted += 1;
            continue;
        }
        points += 1;
        if (probability > market) above += 1;
        const [x, y, kind] = [scale(market), scale(1 - probability), item.envelope.decision_kind];
        // Shape as well as colour tells the two series apart.
        const point =
            kind === "oddsoddy_multiplier"
                ? svg("rect", { x: x - 2.5, y: y - 2.5, width: 5, height: 5, class: kind })
                : svg("circle", { cx: x, cy: y, r: 2.8, class: kind });
        // Hovered: what the point is; clicked: its detail.
        const title = svg("title", {});
        title.textContent = `${item.envelope.prediction.question}\ncrowd ${probability.toFixed(2)}, market ${market.toFixed(2)}: ${decisionLabel(item.envelope)}`;
        point.append(title);
        pointItems.set(point, item);
        nodes.push(point);
    }
    $("chart").replaceChildren(...nodes);
    $("chart").setAttribute(
        "aria-label",
        points === 0
            ? "scatter of crowd against market probability: no points yet"
            : `scatter of crowd against market probability: ${points} points, the crowd above the market in ${above} and at or below it in ${points - above}` +
                  (unplotted > 0 ? `; ${unplotted} without a market price not plotted` : ""),
    );
}
