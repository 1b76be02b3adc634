export * from "./plot";
