import sys, time, asyncio
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services/query_api/bench"))
from pymongo import MongoClient

def test_probe(settings):
    import api_bench
    from pitwall.common import db
    from pitwall.query_api import queries
    s = settings.model_copy(update={"mongo_db": settings.mongo_db + "_probe"})
    asyncio.run(api_bench.make_token(s))
    api_bench.seed_runs(s, 3000)
    async def go():
        client = db.make_client(s); d = db.database(client, s)
        f = queries.RunFilters(where=(queries.parse_where("VNData:vn_vel.x.max>25"),))
        for label, mx in (("in-query", 1000), ("walk", 0), ("in-query", 1000)):
            queries.IN_QUERY_MAX = mx
            t0 = time.perf_counter(); ids = await queries.resolve_where(d.signals, f.where); t1 = time.perf_counter()
            items, cur = await queries.list_runs(d.runs, d.signals, f, 50, None); t2 = time.perf_counter()
            print(f"{label}: where {1000*(t1-t0):.0f} ms ({len(ids)} ids), list total {1000*(t2-t1):.0f} ms, {len(items)}")
        f2 = queries.RunFilters()
        t0 = time.perf_counter(); items, cur = await queries.list_runs(d.runs, d.signals, f2, 50, None); print(f"plain {1000*(time.perf_counter()-t0):.0f} ms")
        await client.close()
    asyncio.run(go())
    MongoClient(s.mongo_url).drop_database(s.mongo_db)
