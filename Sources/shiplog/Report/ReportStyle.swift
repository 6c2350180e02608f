/// The report's one stylesheet, inline: a laptop screen and paper (`@media print`) alike.
/// No font, image or script is fetched: the page's Content-Security-Policy forbids it too.
enum ReportStyle {
    static let css: HTML = """
        :root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--card:#fff;--accent:#0969da;
        --ok:#1a7f37;--ok-bg:#dafbe1;--f:#cf222e;--f-bg:#ffebe9;--rb:#9a6700;--rb-bg:#fff8c5;--ab:#59636e;--ab-bg:#eff2f5;
        --run:#0969da;--run-bg:#ddf4ff;--rs:#8250df;--rs-bg:#fbefff;
        --mono:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace}
        *{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%}
        body{margin:0;background:var(--soft);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
        .wrap{max-width:1200px;margin:0 auto;padding:0 24px 48px}
        header.top{background:#24292f;color:#fff;padding:22px 0 18px;margin-bottom:24px}
        header.top .wrap{padding-bottom:0}
        header.top h1{margin:0;font-size:22px;font-weight:600;letter-spacing:-.01em}
        header.top h1 small{font-weight:400;color:#c9d1d9;font-size:15px;margin-left:8px}
        .meta{display:flex;flex-wrap:wrap;gap:6px 28px;margin:12px 0 0;padding:0;color:#c9d1d9;font-size:13px}
        .meta div{display:flex;gap:6px}.meta dt{color:#8c959f}.meta dd{margin:0;color:#f0f3f6}
        .meta code{font-family:var(--mono);font-size:12px;word-break:break-all}
        nav.toc{display:flex;gap:18px;margin-top:14px;font-size:13px}
        nav.toc a{color:#c9d1d9;text-decoration:none;border-bottom:1px solid transparent}
        nav.toc a:hover{color:#fff;border-color:#fff}
        h2{font-size:18px;font-weight:600;margin:32px 0 4px}
        h2+p.lead{margin:0 0 14px;color:var(--muted);font-size:13px}
        h3{font-size:15px;font-weight:600;margin:0}
        code,.mono{font-family:var(--mono);font-size:12.5px}
        .muted{color:var(--muted)}
        .tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:12px}
        .tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px}
        .tile .k{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600}
        .tile .v{font-size:28px;font-weight:600;margin:4px 0 2px;letter-spacing:-.02em;font-variant-numeric:tabular-nums}
        .tile .v small{font-size:14px;font-weight:500;color:var(--muted);margin-left:4px}
        .tile .s{font-size:12.5px;color:var(--muted)}
        .bucket{display:inline-block;font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;padding:1px 7px;border-radius:10px;background:var(--run-bg);color:var(--run);vertical-align:middle}
        .panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin-top:12px}
        .panel h3{margin-bottom:8px}
        .chart svg{display:block;width:100%;height:auto}
        .chart .ax{font:11px system-ui,sans-serif;fill:var(--muted)}
        .chart .grid{stroke:#eaeef2;stroke-width:1}
        .chart .base{stroke:var(--line);stroke-width:1}
        .legend{display:flex;flex-wrap:wrap;gap:16px;font-size:12.5px;color:var(--muted);margin-top:8px}
        .legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:-1px}
        .c-ok{fill:#2da44e;background:#2da44e}.c-f{fill:#cf222e;background:#cf222e}.c-rb{fill:#d4a72c;background:#d4a72c}
        .c-ab{fill:#8c959f;background:#8c959f}.c-rs{fill:#8250df;background:#8250df}
        .envs{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}
        .env{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;border-top:3px solid var(--ok)}
        .env.st-f{border-top-color:var(--f)}.env.st-ab{border-top-color:var(--ab)}.env.st-run{border-top-color:var(--run)}.env.st-none{border-top-color:var(--line)}
        .env header{display:flex;align-items:center;justify-content:space-between;margin-bottom:8px}
        .env dl{display:grid;grid-template-columns:110px 1fr;gap:5px 10px;margin:0;font-size:13px}
        .env dt{color:var(--muted)}.env dd{margin:0;min-width:0;overflow-wrap:anywhere}
        .env .counts{display:flex;flex-wrap:wrap;gap:4px 14px;margin-top:10px;padding-top:10px;border-top:1px solid #eaeef2;font-size:12.5px;color:var(--muted)}
        .env .counts span{white-space:nowrap}.env .counts b{color:var(--fg);font-weight:600}
        .warn{color:var(--f)}
        .pill{display:inline-block;font-size:12px;font-weight:600;line-height:18px;padding:0 8px;border-radius:10px;white-space:nowrap}
        .pill.ok{background:var(--ok-bg);color:var(--ok)}.pill.f{background:var(--f-bg);color:var(--f)}
        .pill.rb{background:var(--rb-bg);color:var(--rb)}.pill.ab{background:var(--ab-bg);color:var(--ab)}
        .pill.run{background:var(--run-bg);color:var(--run)}.pill.rs{background:var(--rs-bg);color:var(--rs)}
        .dep{background:var(--card);border:1px solid var(--line);border-radius:8px;margin-top:12px;overflow:hidden}
        .dep>header{display:flex;flex-wrap:wrap;align-items:center;gap:6px 12px;padding:10px 16px;background:var(--soft);border-bottom:1px solid var(--line)}
        .dep>header h3{font-family:var(--mono);font-size:14px}
        .dep>header .where{color:var(--muted);font-size:13px}
        .dep .body{padding:12px 16px 14px}
        .facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:4px 24px;margin:0 0 12px;font-size:13px}
        .facts div{display:flex;gap:8px;min-width:0}.facts dt{color:var(--muted);flex:0 0 92px}.facts dd{margin:0;min-width:0;overflow-wrap:anywhere}
        .dep h4{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:14px 0 6px}
        table{border-collapse:collapse;width:100%;font-size:13px}
        th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;border-bottom:1px solid var(--line);padding:6px 8px;white-space:nowrap;background:var(--card)}
        td{padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:top;overflow-wrap:break-word}
        table.tl td:nth-child(1),table.tl td:nth-child(2){font-family:var(--mono);font-size:12px;white-space:nowrap;color:var(--muted)}
        table.tl td:nth-child(3){white-space:nowrap;font-weight:500}
        table.tl tr.hc td:nth-child(3){color:var(--ok)}table.tl tr.hc.bad td:nth-child(3),table.tl tr.bad td:nth-child(3){color:var(--f)}
        table.tl tr.end td{border-bottom:0;font-weight:600}
        table.art td:nth-child(4),table.art td:nth-child(5){font-family:var(--mono);font-size:12px}
        .hist{background:var(--card);border:1px solid var(--line);border-radius:8px;margin-top:12px}
        .hist>header{display:flex;align-items:baseline;gap:12px;padding:10px 16px;border-bottom:1px solid var(--line)}
        .hist table th{position:sticky;top:0}
        .hist tbody td:nth-child(4){white-space:nowrap}
        .hist tbody td:nth-child(2),.hist tbody td:nth-child(5){font-family:var(--mono);font-size:12px;white-space:nowrap}
        .hist tbody td:nth-child(6){white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}
        .hist tbody td:first-child{white-space:nowrap;font-weight:600}
        .hist tbody td:nth-child(7){color:var(--muted);width:40%}
        .hist tbody td:first-child::before{content:"";display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:7px;vertical-align:1px;background:var(--ab)}
        tr.ok td:first-child{color:var(--ok)}tr.ok td:first-child::before{background:var(--ok)}
        tr.f td:first-child{color:var(--f)}tr.f td:first-child::before{background:var(--f)}
        tr.rb td:first-child{color:var(--rb)}tr.rb td:first-child::before{background:#d4a72c}
        tr.ab td:first-child{color:var(--ab)}
        tr.run td:first-child{color:var(--run)}tr.run td:first-child::before{background:var(--run)}
        tr.rs td:first-child{color:var(--rs)}tr.rs td:first-child::before{background:var(--rs)}
        .hist tbody tr:hover td{background:#f6f8fa}
        a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
        .note{font-size:12.5px;color:var(--muted);margin:8px 0 0}
        footer{margin-top:32px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:12px}
        @media (max-width:900px){.tiles{grid-template-columns:repeat(2,1fr)}}
        @media print{
        @page{size:A4;margin:12mm 10mm}
        body{background:#fff;font-size:10pt}
        *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
        header.top{background:#fff;color:var(--fg);border-bottom:2px solid var(--fg);padding:0 0 8px;margin-bottom:12px}
        header.top h1 small,.meta,.meta dd{color:var(--fg)}.meta dt{color:var(--muted)}
        nav.toc{display:none}
        .wrap{max-width:none;padding:0}
        .tiles{grid-template-columns:repeat(4,1fr)}
        .tile,.panel,.env,.dep,.hist{border-color:#bbb;break-inside:avoid}
        .dep,.hist{break-inside:auto}
        .dep>header{break-after:avoid}
        h2{break-after:avoid;margin-top:18px}
        thead{display:table-header-group}
        tr{break-inside:avoid}
        .hist table th{position:static}
        a{color:inherit}
        }
        """
}
