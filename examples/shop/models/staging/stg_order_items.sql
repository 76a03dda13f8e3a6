with source as (

    select * from {{ source('shop_raw', 'raw_order_items') }}

)

select
    id as order_item_id,
    order_id,
    product_id,
    quantity,
    unit_price_cents,
    quantity * unit_price_cents as line_amount_cents
from source
