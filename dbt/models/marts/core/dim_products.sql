with

products as (

    select * from {{ ref('stg_production__products') }}

),

subcategories as (

    select * from {{ ref('stg_production__product_subcategories') }}

),

categories as (

    select * from {{ ref('stg_production__product_categories') }}

),

final as (

    select
        products.product_id,
        products.product_name,
        products.product_number,
        products.product_subcategory_id,
        subcategories.product_subcategory_name as subcategory_name,
        subcategories.product_category_id,
        categories.product_category_name as category_name,
        products.color,
        products.size,
        products.product_line,
        products.product_class,
        products.product_style,
        products.list_price,
        products.standard_cost,
        products.is_made_in_house,
        products.is_finished_good,
        products.sell_start_date,
        products.sell_end_date,
        products.discontinued_date

    from products
    left join subcategories
        on products.product_subcategory_id = subcategories.product_subcategory_id
    left join categories
        on subcategories.product_category_id = categories.product_category_id

)

select * from final
