import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The daemon embeds dist/ and serves it at `/`; `npm run dev` proxies the API to a running
// daemon on its default port.
export default defineConfig({
  plugins: [svelte()],
  build: { outDir: "dist", emptyOutDir: true, assetsInlineLimit: 0 },
  server: { proxy: { "/api": "http://127.0.0.1:7349" } },
});
