// The types of the email-providers package (it ships none): its default export is all.json, the
// domains of free and webmail providers. Named by `@ts-types` in lists.ts for Deno;
// email-providers.node.d.ts says the same to tsc.
declare const domains: string[];
export default domains;
