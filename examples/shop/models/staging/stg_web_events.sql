-- The tracker occasionally delivers the same event twice: keep one row per event_id.
with source as (

    select * from {{ source('shop_raw', 'raw_web_events') }}

)

select
    event_id,
    session_id,
    customer_id,
    event_type,
    cast(event_ts as timestamp) as event_at,
    json_extract_string(properties, '$.path') as page_path,
    json_extract_string(properties, '$.utm_source') as utm_source,
    cast(json_extract(properties, '$.product_id') as integer) as product_id,
    cast(json_extract(properties, '$.cart_value_cents') as integer) as cart_value_cents,
    properties
from source
qualify row_number() over (partition by event_id order by event_ts) = 1
