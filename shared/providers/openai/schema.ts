// The zod schemas of shared/domain/schemas.ts as OpenAI strict structured-output schemas. zod stays
// the single source of truth: z.toJSONSchema, then cut down to the subset strict mode accepts
// (every property required, additionalProperties false everywhere, only supported keywords). What is
// dropped (string lengths, url format) is still checked: the workers parse every answer with zod.
import { z } from "zod";

export type JsonSchema = { [key: string]: unknown };

/** Keywords strict mode accepts; everything else is dropped. */
const SUPPORTED = new Set([
  "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$ref", "$defs",
  "description", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
  "minItems", "maxItems",
]);
/** String formats strict mode accepts ("uri" is not one of them). */
const FORMATS = new Set(["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"]);
/** Keywords whose meaning cannot be kept by dropping them: such a schema is refused, not weakened. */
const UNSUPPORTED = ["allOf", "not", "if", "then", "else", "patternProperties", "propertyNames", "dependentSchemas", "prefixItems"];

const isObject = (value: unknown): value is JsonSchema => typeof value === "object" && value !== null && !Array.isArray(value);

function acceptsNull(schema: JsonSchema): boolean {
  const type = schema.type;
  if (type === "null" || (Array.isArray(type) && type.includes("null"))) return true;
  return Array.isArray(schema.anyOf) && schema.anyOf.some((s) => isObject(s) && acceptsNull(s));
}

/** One JSON schema node (and everything under it) in OpenAI's strict subset; throws where it cannot be. */
export function toStrictJsonSchema(schema: unknown, path = "#"): JsonSchema {
  if (!isObject(schema)) throw new Error(`${path}: a strict schema needs an object here, not ${JSON.stringify(schema)}`);
  const found = UNSUPPORTED.find((k) => k in schema);
  if (found) throw new Error(`${path}: strict structured output has no "${found}"`);
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "oneOf") out.anyOf = value; // the same answers, less exclusive; zod checks the rest
    else if (SUPPORTED.has(key)) out[key] = value;
  }
  if (typeof out.format === "string" && !FORMATS.has(out.format)) delete out.format;
  if (out.format) delete out.pattern; // zod adds a pattern to formats (e.g. email): the format says it

  if (Array.isArray(out.anyOf)) out.anyOf = out.anyOf.map((s, i) => toStrictJsonSchema(s, `${path}/anyOf/${i}`));
  if (isObject(out.$defs)) {
    out.$defs = Object.fromEntries(Object.entries(out.$defs).map(([k, s]) => [k, toStrictJsonSchema(s, `${path}/$defs/${k}`)]));
  }
  if ("items" in out) out.items = toStrictJsonSchema(out.items, `${path}/items`);

  const isObjectType = out.type === "object" || (Array.isArray(out.type) && out.type.includes("object"));
  if (isObjectType || "properties" in out) {
    if (isObject(out.additionalProperties)) throw new Error(`${path}: strict structured output has no maps (additionalProperties with a schema)`);
    const properties = isObject(out.properties) ? out.properties : {};
    const required = new Set(Array.isArray(out.required) ? out.required : []);
    out.properties = Object.fromEntries(Object.entries(properties).map(([key, s]) => {
      const strict = toStrictJsonSchema(s, `${path}/properties/${key}`);
      if (!required.has(key) && !acceptsNull(strict)) {
        throw new Error(`${path}/properties/${key}: optional without null: make it .nullable() in the zod schema (strict output requires every key)`);
      }
      return [key, strict];
    }));
    out.required = Object.keys(properties);
    out.additionalProperties = false;
  }
  return out;
}

/** The strict schema of a zod schema whose root is an object. */
export function strictSchemaOf(schema: z.ZodType): JsonSchema {
  const json = toStrictJsonSchema(z.toJSONSchema(schema, { io: "output", unrepresentable: "throw" }));
  if (json.type !== "object") throw new Error("strict structured output needs an object at the root");
  return json;
}
