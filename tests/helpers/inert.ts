/**
 * What would make rendered model output live, found under `root` in the page: event handler
 * attributes, `style` attributes, elements that run or embed things, script-like URLs, links
 * inside MathML. All empty (and 0) when the output is inert.
 */
import type { Locator } from "playwright-core";

export interface InertReport {
  readonly handlers: string[];
  readonly styles: string[];
  readonly forbidden: string[];
  readonly badUrls: string[];
  readonly mathLinks: number;
}

export const INERT: InertReport = {
  handlers: [],
  styles: [],
  forbidden: [],
  badUrls: [],
  mathLinks: 0,
};

export function inertReport(root: Locator): Promise<InertReport> {
  return root.evaluate((element) => {
    const all = [...element.querySelectorAll("*")];
    return {
      handlers: all.flatMap((el) =>
        [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName}[${a.name}]`)
      ),
      styles: all.filter((el) => el.hasAttribute("style")).map((el) => el.tagName),
      forbidden: [...element.querySelectorAll("script, iframe, object, embed, form, svg, img")]
        .map((el) => el.tagName),
      badUrls: all.flatMap((el) =>
        ["href", "src", "xlink:href", "action", "formaction"].map((name) =>
          el.getAttribute(name) ?? ""
        )
      ).filter((v) => /^\s*(javascript|data|vbscript):/i.test(v)),
      mathLinks: [...element.querySelectorAll("math [href], math a")].length,
    };
  });
}
