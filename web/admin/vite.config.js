import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Served by basalt under /_/; every asset is local (no CDN at run time).
export default defineConfig({
  base: '/_/',
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0, sourcemap: false, minify: !process.env.NO_MINIFY },
});
