// The same types for tsc (Node's side), which reads no `@ts-types`: tsconfig.json includes this file.
declare module "email-providers" {
  const domains: string[];
  export default domains;
}
